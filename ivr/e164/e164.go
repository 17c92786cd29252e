// Package e164 turns phone numbers as callers and admins write them into E.164 (+CC…), by
// the numbering plan of a default country. Lists and caller rules compare E.164 numbers only,
// so "+1 212 555 0100", "001 212 5550100" and, in the US, "(212) 555-0100" are the same caller.
//
// It knows each country's calling code and its international and national (trunk) prefixes;
// it does not know every country's number lengths, so it normalises, it does not validate.
package e164

import (
	"strings"
)

// Plan is how one country writes numbers.
type Plan struct {
	Country       string // ISO 3166 code, upper case
	Code          string // calling code, without +
	International string // prefix dialled before a foreign calling code ("00", "011")
	Trunk         string // national prefix before an area code ("0", "1" for NANP, "" for none)
	// NationalLen is the length of a national number without the trunk prefix when every
	// number has it (10 in NANP); 0 when it varies.
	NationalLen int
}

// plans covers the countries a box is likely to be installed in; the calling codes are from
// ITU-T E.164 Annex (list of assigned country codes), the prefixes from each regulator's plan.
var plans = map[string]Plan{
	"US": {"US", "1", "011", "1", 10}, "CA": {"CA", "1", "011", "1", 10},
	"GB": {"GB", "44", "00", "0", 0}, "UK": {"GB", "44", "00", "0", 0},
	"DE": {"DE", "49", "00", "0", 0}, "AT": {"AT", "43", "00", "0", 0},
	"CH": {"CH", "41", "00", "0", 0}, "FR": {"FR", "33", "00", "0", 0},
	"NL": {"NL", "31", "00", "0", 0}, "BE": {"BE", "32", "00", "0", 0},
	"IT": {"IT", "39", "00", "", 0}, "ES": {"ES", "34", "00", "", 0},
	"PT": {"PT", "351", "00", "", 0}, "IE": {"IE", "353", "00", "0", 0},
	"SE": {"SE", "46", "00", "0", 0}, "NO": {"NO", "47", "00", "", 0},
	"DK": {"DK", "45", "00", "", 0}, "FI": {"FI", "358", "00", "0", 0},
	"PL": {"PL", "48", "00", "", 0}, "CZ": {"CZ", "420", "00", "", 0},
	"CN": {"CN", "86", "00", "0", 0}, "HK": {"HK", "852", "001", "", 0},
	"TW": {"TW", "886", "002", "0", 0}, "JP": {"JP", "81", "010", "0", 0},
	"KR": {"KR", "82", "001", "0", 0}, "SG": {"SG", "65", "000", "", 0},
	"IN": {"IN", "91", "00", "0", 0}, "AU": {"AU", "61", "0011", "0", 0},
	"NZ": {"NZ", "64", "00", "0", 0}, "BR": {"BR", "55", "00", "0", 0},
	"MX": {"MX", "52", "00", "", 0}, "ZA": {"ZA", "27", "00", "0", 0},
}

// PlanFor returns the numbering plan of a country (ISO 3166, any case).
func PlanFor(country string) (Plan, bool) {
	p, ok := plans[strings.ToUpper(country)]
	return p, ok
}

// Countries lists the countries PlanFor knows.
func Countries() []string {
	out := make([]string, 0, len(plans))
	for c := range plans {
		if c != "UK" {
			out = append(out, c)
		}
	}
	return out
}

// Normalize returns number in E.164 ("+4930123456") as a caller in the plan's country would
// mean it, and whether it could: a number that is not international and has no national
// prefix and is too short to be a national number (an extension, a short code) is returned as
// its digits with ok false. Spaces, dashes,
// dots and brackets are ignored; a leading "+" or the international prefix makes a number
// international; the national prefix is replaced by the country's calling code.
func (p Plan) Normalize(number string) (string, bool) {
	digits, plus := clean(number)
	switch {
	case digits == "":
		return "", false
	case plus:
		return "+" + digits, true
	case p.International != "" && strings.HasPrefix(digits, p.International) && len(digits) > len(p.International):
		return "+" + digits[len(p.International):], true
	case p.NationalLen > 0 && len(digits) == p.NationalLen:
		return "+" + p.Code + digits, true
	case p.Trunk != "" && strings.HasPrefix(digits, p.Trunk) && len(digits) > len(p.Trunk)+2 &&
		(p.NationalLen == 0 || len(digits) == p.NationalLen+len(p.Trunk)):
		return "+" + p.Code + digits[len(p.Trunk):], true
	case p.Trunk == "" && len(digits) >= 8:
		// Countries without a trunk prefix dial the national number as it is.
		return "+" + p.Code + digits, true
	case p.NationalLen == 0 && len(digits) >= 9 && !strings.HasPrefix(digits, p.Trunk):
		// A national number without its prefix: Chinese mobiles are dialled so, and trunks
		// often present caller IDs without the 0.
		return "+" + p.Code + digits, true
	}
	return digits, false
}

// NormalizePrefix is Normalize for the start of numbers (a rule's "+1212" or "0212"): it
// returns the E.164 prefix, keeping a short prefix international only when it was written so
// or starts with the national prefix.
func (p Plan) NormalizePrefix(prefix string) (string, bool) {
	digits, plus := clean(prefix)
	switch {
	case digits == "":
		return "", false
	case plus:
		return "+" + digits, true
	case p.International != "" && strings.HasPrefix(digits, p.International) && len(digits) > len(p.International):
		return "+" + digits[len(p.International):], true
	case p.Trunk != "" && strings.HasPrefix(digits, p.Trunk) && len(digits) > len(p.Trunk):
		return "+" + p.Code + digits[len(p.Trunk):], true
	}
	return digits, false
}

// clean keeps a number's digits and says whether it began with "+"; anything but digits and
// the usual separators makes it empty.
func clean(number string) (digits string, plus bool) {
	s := strings.TrimSpace(number)
	if strings.HasPrefix(s, "+") {
		plus, s = true, s[1:]
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
		default:
			return "", false
		}
	}
	return b.String(), plus
}

// CountryCode returns the calling code (with +) of an E.164 number's country, from the
// codes this package knows, or "" when none matches.
func CountryCode(e164 string) string {
	if !strings.HasPrefix(e164, "+") {
		return ""
	}
	best := ""
	for _, p := range plans {
		if strings.HasPrefix(e164[1:], p.Code) && len(p.Code) > len(best) {
			best = p.Code
		}
	}
	if best == "" {
		return ""
	}
	return "+" + best
}
