package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// Ports hands out UDP sockets for RTP from a configured range, one per leg, on even port
// numbers (RTCP would take the odd one above).
type Ports struct {
	addr     netip.Addr
	min, max int

	mu   sync.Mutex
	next int
	used map[int]bool
}

// NewPorts makes an allocator for ports min..max on addr.
func NewPorts(addr netip.Addr, min, max int) *Ports {
	if min%2 == 1 {
		min++
	}
	return &Ports{addr: addr, min: min, max: max, next: min, used: map[int]bool{}}
}

// ErrNoPorts means every port of the range is in use.
var ErrNoPorts = errors.New("no free RTP port in the configured range")

// Listen binds a UDP socket on the next free even port.
func (p *Ports) Listen() (*net.UDPConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	span := (p.max-p.min)/2 + 1
	for range span {
		port := p.next
		p.next += 2
		if p.next > p.max {
			p.next = p.min
		}
		if p.used[port] {
			continue
		}
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.addr, uint16(port))))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				continue // taken by something else on the machine
			}
			return nil, fmt.Errorf("rtp listen %s:%d: %w", p.addr, port, err)
		}
		p.used[port] = true
		return conn, nil
	}
	return nil, ErrNoPorts
}

// Release returns a port to the pool once its socket is closed.
func (p *Ports) Release(port int) {
	p.mu.Lock()
	delete(p.used, port)
	p.mu.Unlock()
}

// InUse is how many ports are taken.
func (p *Ports) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used)
}
