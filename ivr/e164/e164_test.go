package e164

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		country, in, want string
		ok                bool
	}{
		{"US", "+1 212 555 0100", "+12125550100", true},
		{"US", "(212) 555-0100", "+12125550100", true},
		{"US", "1-212-555-0100", "+12125550100", true},
		{"US", "011 49 30 123456", "+4930123456", true},
		{"US", "5550100", "5550100", false}, // no area code: not a caller the lists can know
		{"US", "1001", "1001", false},       // an extension
		{"DE", "030 123456", "+4930123456", true},
		{"DE", "0049 30 123456", "+4930123456", true},
		{"DE", "0170/1234567", "+491701234567", true},
		{"DE", "123456", "123456", false},
		{"GB", "020 7946 0018", "+442079460018", true},
		{"GB", "2079460018", "+442079460018", true}, // a trunk's caller ID without the 0
		{"CN", "13812345678", "+8613812345678", true},
		{"CN", "010 12345678", "+861012345678", true},
		{"CN", "00 1 212 555 0100", "+12125550100", true},
		{"IT", "06 1234 5678", "+390612345678", true}, // Italy keeps its 0
		{"SG", "6123 4567", "+6561234567", true},
		{"US", "+", "", false},
		{"US", "", "", false},
		{"US", "anonymous", "", false},
		{"US", "12;drop", "", false},
	}
	for _, tt := range tests {
		p, ok := PlanFor(tt.country)
		if !ok {
			t.Fatalf("no plan for %s", tt.country)
		}
		got, ok := p.Normalize(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s %q: got %q %v, want %q %v", tt.country, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizePrefix(t *testing.T) {
	de, _ := PlanFor("de")
	us, _ := PlanFor("US")
	for _, tt := range []struct {
		p        Plan
		in, want string
		ok       bool
	}{
		{de, "030", "+4930", true},
		{de, "+4930", "+4930", true},
		{de, "0049", "+49", true},
		{us, "+1212", "+1212", true},
		{us, "1212", "+1212", true},
		{us, "212", "212", false},
	} {
		got, ok := tt.p.NormalizePrefix(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s %q: got %q %v, want %q %v", tt.p.Country, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCountryCode(t *testing.T) {
	for in, want := range map[string]string{"+12125550100": "+1", "+4930123456": "+49", "+85221234567": "+852", "+8613812345678": "+86", "12345": "", "+999": ""} {
		if got := CountryCode(in); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
	if _, ok := PlanFor("XX"); ok {
		t.Error("a plan for XX")
	}
	if len(Countries()) < 20 {
		t.Error("few countries")
	}
}
