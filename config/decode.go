package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder turns a YAML node tree into config structs, collecting a Problem for every unknown
// key and wrong type instead of stopping at the first.
type decoder struct {
	file     string
	problems Problems
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Pos: Pos{n.Line, n.Column}, Reason: fmt.Sprintf(format, args...)})
}

// nodeDecoder is implemented by config types with their own YAML shape (secrets, addresses,
// port ranges). It reports its problems through errorf and returns false when the value is
// unusable.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node) bool
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	nodeDecoderType = reflect.TypeFor[nodeDecoder]()
)

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return fmt.Sprintf("the text %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n)
		return
	}
	if v.Type() == durationType {
		d.decodeDuration(n, v)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		nv := reflect.New(v.Type().Elem())
		d.decode(n, nv.Elem())
		v.Set(nv)
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, "want a list, found %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, "want a mapping, found %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev)
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			d.errorf(n, "want a text value, found %s", kindName(n))
			return
		}
		// Numbers written without quotes (number: 1001) are kept as written.
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.errorf(n, "want true or false, found %s", kindName(n))
			return
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.errorf(n, "want a whole number, found %s", kindName(n))
			return
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || v.OverflowInt(i) {
			d.errorf(n, "want a whole number, found %q", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			d.errorf(n, "want a number, found %s", kindName(n))
			return
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			d.errorf(n, "want a number, found %q", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("config: no decoder for %s", v.Type()))
	}
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "want a duration like 30s or 5m, found %s", kindName(n))
		return
	}
	if n.Value == "0" {
		v.SetInt(0)
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil || dur < 0 {
		d.errorf(n, "want a duration like 30s or 5m, found %q", n.Value)
		return
	}
	v.SetInt(int64(dur))
}

// fieldIndex maps each yaml key of a struct type to its field.
func fieldIndex(t reflect.Type) map[string]int {
	idx := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		idx[name] = i
	}
	return idx
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "want a mapping, found %s", kindName(n))
		return
	}
	var mark *Mark
	if m, ok := v.Addr().Interface().(marked); ok {
		mark = m.mark()
		mark.at = Pos{n.Line, n.Column}
		mark.fields = make(map[string]Pos, len(n.Content)/2)
	}
	fields := fieldIndex(v.Type())
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		i, ok := fields[k.Value]
		if !ok {
			d.errorf(k, "unknown key %q%s", k.Value, suggest(k.Value, fields))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "key %q given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		if mark != nil {
			mark.fields[k.Value] = Pos{val.Line, val.Column}
			if val.Kind == yaml.SequenceNode {
				for j, item := range val.Content {
					mark.fields[fmt.Sprintf("%s[%d]", k.Value, j)] = Pos{item.Line, item.Column}
				}
			}
		}
		d.decode(val, v.Field(i))
	}
}

// suggest names the known key closest to an unknown one, for typos.
func suggest(key string, fields map[string]int) string {
	best, bestDist := "", 3
	for k := range fields {
		if dist := editDistance(key, k); dist < bestDist || (dist == bestDist && best != "" && k < best) {
			best, bestDist = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
