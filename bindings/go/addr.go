package weft

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"

	"weft.dev/weft/internal/raw"
)

// The core hands addresses over as raw struct sockaddr bytes, which it also takes apart
// (weft_sockaddr_decode), as it does for Python and Node.

// addrOf turns raw sockaddr bytes into a net.Addr of the network's kind; nil if it cannot.
// An abstract Unix name (a leading NUL) is "@name", as package net spells it.
func addrOf(network string, sa []byte) net.Addr {
	var text [128]byte
	var port, n int32
	var scope uint32
	family := raw.Weftgo_sockaddr_decode(sa, text[:], &port, &scope, &n)
	if family < 0 || int(n) > len(text) {
		return nil
	}
	name := text[:n]
	udp := network == "udp" || network == "udp4" || network == "udp6"
	switch family {
	case syscall.AF_INET, syscall.AF_INET6:
		ip := net.ParseIP(string(name))
		if ip == nil {
			return nil
		}
		if ip4 := ip.To4(); ip4 != nil && family == syscall.AF_INET {
			ip = ip4
		}
		zone := ""
		if scope != 0 {
			if ifi, err := net.InterfaceByIndex(int(scope)); err == nil {
				zone = ifi.Name
			}
		}
		if udp {
			return &net.UDPAddr{IP: ip, Port: int(port), Zone: zone}
		}
		return &net.TCPAddr{IP: ip, Port: int(port), Zone: zone}
	case syscall.AF_UNIX:
		if len(name) > 0 && name[0] == 0 {
			name[0] = '@'
		}
		return &net.UnixAddr{Name: string(name), Net: "unix"}
	}
	return nil
}

// sockaddrOf is the raw sockaddr of a UDP address (nil for none).
func sockaddrOf(a *net.UDPAddr) ([]byte, error) {
	if a == nil {
		return nil, nil
	}
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return nil, ErrInval
	}
	if ip.Is4In6() || ip.Is4() {
		sa := make([]byte, 16)
		binary.NativeEndian.PutUint16(sa, syscall.AF_INET)
		binary.BigEndian.PutUint16(sa[2:], uint16(a.Port))
		b := ip.Unmap().As4()
		copy(sa[4:], b[:])
		return sa, nil
	}
	sa := make([]byte, 28)
	binary.NativeEndian.PutUint16(sa, syscall.AF_INET6)
	binary.BigEndian.PutUint16(sa[2:], uint16(a.Port))
	b := ip.As16()
	copy(sa[8:], b[:])
	if a.Zone != "" {
		if ifi, err := net.InterfaceByName(a.Zone); err == nil {
			binary.NativeEndian.PutUint32(sa[24:], uint32(ifi.Index))
		}
	}
	return sa, nil
}
