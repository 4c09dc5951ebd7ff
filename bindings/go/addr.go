package weft

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
)

// The core hands addresses over as raw struct sockaddr bytes (Linux's layout, in the host's
// byte order but for the port, which is in network order).

// addrOf turns raw sockaddr bytes into a net.Addr of the network's kind; nil if it cannot.
func addrOf(network string, sa []byte) net.Addr {
	if len(sa) < 2 {
		return nil
	}
	switch binary.NativeEndian.Uint16(sa) {
	case syscall.AF_INET:
		if len(sa) < 8 {
			return nil
		}
		ip := net.IP(append([]byte(nil), sa[4:8]...))
		port := int(binary.BigEndian.Uint16(sa[2:4]))
		if network == "udp" || network == "udp4" || network == "udp6" {
			return &net.UDPAddr{IP: ip, Port: port}
		}
		return &net.TCPAddr{IP: ip, Port: port}
	case syscall.AF_INET6:
		if len(sa) < 28 {
			return nil
		}
		ip := net.IP(append([]byte(nil), sa[8:24]...))
		port := int(binary.BigEndian.Uint16(sa[2:4]))
		zone := ""
		if id := binary.NativeEndian.Uint32(sa[24:28]); id != 0 {
			if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
				zone = ifi.Name
			}
		}
		if network == "udp" || network == "udp4" || network == "udp6" {
			return &net.UDPAddr{IP: ip, Port: port, Zone: zone}
		}
		return &net.TCPAddr{IP: ip, Port: port, Zone: zone}
	case syscall.AF_UNIX:
		path := sa[2:]
		for i, b := range path {
			if b == 0 {
				path = path[:i]
				break
			}
		}
		return &net.UnixAddr{Name: string(path), Net: "unix"}
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
