package pbx

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"

	"callbox"
	"callbox/media"
)

// offerCodec is one audio format a party offered or accepted.
type offerCodec struct {
	codec callbox.Codec
	pt    uint8
}

// remoteMedia is what a party's SDP says about its audio.
type remoteMedia struct {
	addr      netip.AddrPort
	codecs    []offerCodec // G.711 formats we understand, in the party's order of preference
	eventPT   uint8        // telephone-event payload type, 0 when absent
	direction media.Direction
	ptime     time.Duration
}

var errNoAudio = errors.New("no audio stream the box can use (it speaks PCMU and PCMA)")

// parseSDP reads a party's offer or answer. Only the first audio stream matters; the box
// answers others with port 0.
func parseSDP(body []byte) (remoteMedia, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return remoteMedia{}, fmt.Errorf("bad SDP: %w", err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		rm := remoteMedia{direction: media.SendRecv, ptime: 20 * time.Millisecond}
		conn := md.ConnectionInformation
		if conn == nil {
			conn = sd.ConnectionInformation
		}
		if conn == nil || conn.Address == nil {
			return remoteMedia{}, errors.New("bad SDP: no connection address")
		}
		ip, err := netip.ParseAddr(conn.Address.Address)
		if err != nil {
			return remoteMedia{}, fmt.Errorf("bad SDP connection address %q (the box does not resolve names in SDP)", conn.Address.Address)
		}
		rm.addr = netip.AddrPortFrom(ip.Unmap(), uint16(md.MediaName.Port.Value))
		rtpmap := map[uint8]string{}
		for _, a := range md.Attributes {
			switch a.Key {
			case "rtpmap":
				num, enc, ok := strings.Cut(a.Value, " ")
				if pt, err := strconv.Atoi(num); ok && err == nil && pt >= 0 && pt < 128 {
					rtpmap[uint8(pt)] = strings.ToLower(enc)
				}
			case "ptime":
				if ms, err := strconv.Atoi(strings.TrimSpace(a.Value)); err == nil && ms > 0 && ms <= 200 {
					rm.ptime = time.Duration(ms) * time.Millisecond
				}
			case "sendonly":
				rm.direction = media.RecvOnly
			case "recvonly":
				rm.direction = media.SendOnly
			case "inactive":
				rm.direction = media.Inactive
			}
		}
		if sessionDirection(&sd) != media.SendRecv && rm.direction == media.SendRecv {
			rm.direction = sessionDirection(&sd)
		}
		if ip.IsUnspecified() {
			rm.direction = media.Inactive // the old hold: c=0.0.0.0
		}
		for _, f := range md.MediaName.Formats {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 || n > 127 {
				continue
			}
			pt := uint8(n)
			enc, mapped := rtpmap[pt]
			switch {
			case pt == media.PayloadPCMU && (!mapped || strings.HasPrefix(enc, "pcmu/8000")):
				rm.codecs = append(rm.codecs, offerCodec{callbox.PCMU, pt})
			case pt == media.PayloadPCMA && (!mapped || strings.HasPrefix(enc, "pcma/8000")):
				rm.codecs = append(rm.codecs, offerCodec{callbox.PCMA, pt})
			case strings.HasPrefix(enc, "telephone-event/8000"):
				rm.eventPT = pt
			}
		}
		if len(rm.codecs) == 0 {
			return remoteMedia{}, errNoAudio
		}
		return rm, nil
	}
	return remoteMedia{}, errNoAudio
}

func sessionDirection(sd *sdp.SessionDescription) media.Direction {
	for _, a := range sd.Attributes {
		switch a.Key {
		case "sendonly":
			return media.RecvOnly
		case "recvonly":
			return media.SendOnly
		case "inactive":
			return media.Inactive
		}
	}
	return media.SendRecv
}

// answerParams picks the codec for a party's offer: the first of its codecs the box speaks,
// preferring want when the party offers it (so a bridge needs no transcoding).
func answerParams(rm remoteMedia, want callbox.Codec) media.Params {
	pick := rm.codecs[0]
	for _, c := range rm.codecs {
		if c.codec == want {
			pick = c
			break
		}
	}
	return media.Params{Remote: rm.addr, Codec: pick.codec, PT: pick.pt, EventPT: rm.eventPT, Direction: rm.direction, Ptime: rm.ptime}
}

// sdpBuilder writes the box's SDP for one leg, bumping the version on each change (RFC 3264).
type sdpBuilder struct {
	sessionID uint64
	version   uint64
	addr      netip.AddrPort // advertised media address
}

const dtmfPT = 101

// offer lists the codecs in order of preference, with telephone-event.
func (b *sdpBuilder) offer(codecs []callbox.Codec, dir media.Direction) []byte {
	var fmts []offerCodec
	for _, c := range codecs {
		pt := media.PayloadPCMU
		if c == callbox.PCMA {
			pt = media.PayloadPCMA
		}
		fmts = append(fmts, offerCodec{c, pt})
	}
	return b.build(fmts, dtmfPT, dir)
}

// answer names the chosen codec (and telephone-event if the party offered it).
func (b *sdpBuilder) answer(p media.Params) []byte {
	return b.build([]offerCodec{{p.Codec, p.PT}}, p.EventPT, p.Direction)
}

func (b *sdpBuilder) build(codecs []offerCodec, eventPT uint8, dir media.Direction) []byte {
	b.version++
	ip := b.addr.Addr()
	addrType := "IP4"
	if ip.Is6() {
		addrType = "IP6"
	}
	var formats []string
	var attrs []sdp.Attribute
	for _, c := range codecs {
		formats = append(formats, strconv.Itoa(int(c.pt)))
		attrs = append(attrs, sdp.NewAttribute("rtpmap", fmt.Sprintf("%d %s/8000", c.pt, c.codec)))
	}
	if eventPT != 0 {
		formats = append(formats, strconv.Itoa(int(eventPT)))
		attrs = append(attrs,
			sdp.NewAttribute("rtpmap", fmt.Sprintf("%d telephone-event/8000", eventPT)),
			sdp.NewAttribute("fmtp", fmt.Sprintf("%d 0-16", eventPT)))
	}
	attrs = append(attrs, sdp.NewAttribute("ptime", "20"), sdp.NewPropertyAttribute(dir.String()))
	sd := sdp.SessionDescription{
		Origin: sdp.Origin{Username: "callbox", SessionID: b.sessionID, SessionVersion: b.version,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: ip.String()},
		SessionName:           "callbox",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: ip.String()}},
		TimeDescriptions:      []sdp.TimeDescription{{Timing: sdp.Timing{}}},
		MediaDescriptions: []*sdp.MediaDescription{{
			MediaName:  sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: int(b.addr.Port())}, Protos: []string{"RTP", "AVP"}, Formats: formats},
			Attributes: attrs,
		}},
	}
	out, err := sd.Marshal()
	if err != nil {
		panic("pbx: marshal our own SDP: " + err.Error()) // only our own values go in
	}
	return out
}
