package media

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Stats counts one endpoint's RTP. Counters are atomics: the receive goroutine writes them
// while metrics and call records read them.
type Stats struct {
	PacketsIn, PacketsOut atomic.Uint64
	BytesIn, BytesOut     atomic.Uint64
	Malformed             atomic.Uint64 // not RTP
	Foreign               atomic.Uint64 // from an address other than the latched one
	SendErrors            atomic.Uint64
	expected              atomic.Uint64 // packets the sequence numbers say were sent
	jitter                atomic.Uint64 // RFC 3550 interarrival jitter, float64 bits, in samples
}

// Lost is how many packets the party sent that never arrived (never negative: duplicates
// can make received exceed expected).
func (s *Stats) Lost() uint64 {
	exp, got := s.expected.Load(), s.PacketsIn.Load()
	if got >= exp {
		return 0
	}
	return exp - got
}

// Jitter is the interarrival jitter (RFC 3550 section 6.4.1) at 8 kHz.
func (s *Stats) Jitter() time.Duration {
	j := math.Float64frombits(s.jitter.Load())
	return time.Duration(j / 8000 * float64(time.Second))
}

// receiveState is the receive goroutine's own bookkeeping for loss, jitter and DTMF.
type receiveState struct {
	started   bool
	ssrc      uint32
	baseSeq   uint32
	maxSeq    uint32 // extended
	transit   float64
	jitter    float64
	baseCount uint64 // expected packets before a reset

	eventSeen, eventDone bool
	eventTS              uint32
	eventCode            uint8
}

func (rs *receiveState) reset() {
	if rs.started {
		rs.baseCount += uint64(rs.maxSeq - rs.baseSeq + 1)
	}
	rs.started = false
}

func (rs *receiveState) account(st *Stats, h *rtp.Header, now time.Time) {
	seq := uint32(h.SequenceNumber)
	if !rs.started || h.SSRC != rs.ssrc {
		rs.reset()
		rs.started, rs.ssrc = true, h.SSRC
		rs.baseSeq, rs.maxSeq = seq, seq
		rs.transit = 0
	} else {
		// Extend the 16-bit sequence number across wrap-around.
		cycles := rs.maxSeq &^ 0xFFFF
		ext := cycles | seq
		if d := int32(ext - rs.maxSeq); d < -0x8000 {
			ext += 1 << 16
		} else if d > 0x8000 {
			ext -= 1 << 16
		}
		if ext > rs.maxSeq {
			rs.maxSeq = ext
		}
	}
	st.expected.Store(rs.baseCount + uint64(rs.maxSeq-rs.baseSeq+1))

	arrival := float64(now.UnixNano()) / float64(time.Second) * 8000
	transit := arrival - float64(h.Timestamp)
	if rs.transit != 0 {
		d := math.Abs(transit - rs.transit)
		if d < 8000*10 { // ignore timestamp jumps (a new source), not jitter
			rs.jitter += (d - rs.jitter) / 16
			st.jitter.Store(math.Float64bits(rs.jitter))
		}
	}
	rs.transit = transit
}
