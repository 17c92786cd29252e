package pbx

import (
	"net/netip"
	"strings"
	"testing"

	"callbox"
	"callbox/media"
)

func TestParseSDP(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
		check   func(t *testing.T, rm remoteMedia)
	}{
		{name: "sipp-like offer", body: "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n",
			check: func(t *testing.T, rm remoteMedia) {
				if rm.addr != netip.MustParseAddrPort("127.0.0.1:6000") || len(rm.codecs) != 2 || rm.codecs[0].codec != callbox.PCMA || rm.eventPT != 101 || rm.direction != media.SendRecv {
					t.Errorf("%+v", rm)
				}
				if p := answerParams(rm, callbox.PCMU); p.Codec != callbox.PCMU || p.PT != 0 {
					t.Errorf("answer did not prefer the bridge's codec: %+v", p)
				}
			}},
		{name: "hold with sendonly", body: "v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n",
			check: func(t *testing.T, rm remoteMedia) {
				if rm.direction != media.RecvOnly {
					t.Errorf("direction %v, want the box to only receive", rm.direction)
				}
			}},
		{name: "old hold with 0.0.0.0", body: "v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
			check: func(t *testing.T, rm remoteMedia) {
				if rm.direction != media.Inactive {
					t.Errorf("direction %v", rm.direction)
				}
			}},
		{name: "static types without rtpmap", body: "v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\n",
			check: func(t *testing.T, rm remoteMedia) {
				if len(rm.codecs) != 2 || rm.eventPT != 0 {
					t.Errorf("%+v", rm)
				}
			}},
		{name: "only opus", body: "v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n", wantErr: "no audio stream"},
		{name: "video only", body: "v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n", wantErr: "no audio stream"},
		{name: "garbage", body: "hello", wantErr: "bad SDP"},
		{name: "hostname in c=", body: "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nc=IN IP4 pbx.example.com\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", wantErr: "does not resolve names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rm, err := parseSDP([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, rm)
		})
	}
}

func TestBuiltSDPParsesBack(t *testing.T) {
	b := &sdpBuilder{sessionID: 42, addr: netip.MustParseAddrPort("192.0.2.7:10002")}
	rm, err := parseSDP(b.offer([]callbox.Codec{callbox.PCMA, callbox.PCMU}, media.SendRecv))
	if err != nil {
		t.Fatal(err)
	}
	if rm.addr != b.addr || rm.codecs[0].codec != callbox.PCMA || rm.eventPT != dtmfPT {
		t.Fatalf("%+v", rm)
	}
	ans := b.answer(media.Params{Codec: callbox.PCMU, PT: 0, Direction: media.RecvOnly})
	if !strings.Contains(string(ans), "a=recvonly") || !strings.Contains(string(ans), "o=callbox 42 2 IN IP4") {
		t.Fatalf("answer:\n%s", ans)
	}
}
