package config

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is where something stands in a config file (1-based line and column).
type Pos struct {
	Line int
	Col  int
}

// Problem is one thing wrong with a config file.
type Problem struct {
	File   string
	Pos    Pos
	Reason string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Pos.Line, p.Pos.Col, p.Reason)
}

// Problems is every problem found in a config file. It is an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Pos.Line != ps[j].Pos.Line {
			return ps[i].Pos.Line < ps[j].Pos.Line
		}
		return ps[i].Pos.Col < ps[j].Pos.Col
	})
	return ps
}

// Mark is embedded in config structs; the decoder fills it with where the mapping stands and
// where each of its keys' values stand, so validation can point at the exact spot.
type Mark struct {
	at     Pos
	fields map[string]Pos
}

// At is where the mapping itself starts.
func (m Mark) At() Pos { return m.at }

// Field is where the value of key name stands, or the mapping's position when the key is
// absent (a missing required value is reported where it should have been).
func (m Mark) Field(name string) Pos {
	if p, ok := m.fields[name]; ok {
		return p
	}
	return m.at
}

// Has tells whether key name was written in the file.
func (m Mark) Has(name string) bool {
	_, ok := m.fields[name]
	return ok
}

// listItemPos is where item i of the list under key stands.
func listItemPos(m Mark, key string, i int) Pos {
	return m.Field(fmt.Sprintf("%s[%d]", key, i))
}

func (m *Mark) mark() *Mark { return m }

// marked is implemented by every struct that embeds Mark.
type marked interface{ mark() *Mark }
