//! One IPVS service and one destination as the kernel sees them (the fields of
//! `IPVS_CMD_NEW_SERVICE` and `IPVS_CMD_NEW_DEST`), and the operations on them.

use std::net::IpAddr;

/// What names a service in the kernel: address family plus either (protocol, address,
/// port) or a firewall mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    /// `virtual_server IP PORT`: IPPROTO_* number, address, port.
    Addr {
        protocol: u8,
        addr: IpAddr,
        port: u16,
    },
    /// `virtual_server fwmark N`; `af` is AF_INET or AF_INET6.
    Fwmark { af: u16, mark: u32 },
}

impl ServiceKey {
    /// AF_INET (2) or AF_INET6 (10).
    pub fn af(&self) -> u16 {
        match self {
            ServiceKey::Addr { addr, .. } => af_of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

/// AF_INET (2) or AF_INET6 (10) for an address.
pub fn af_of(addr: &IpAddr) -> u16 {
    match addr {
        IpAddr::V4(_) => 2,
        IpAddr::V6(_) => 10,
    }
}

/// A virtual service with its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub key: ServiceKey,
    /// Kernel scheduler name ("wlc", "rr", ...).
    pub scheduler: String,
    /// IPVS_SVC_ATTR_FLAGS (IP_VS_SVC_F_*; PERSISTENT set when `timeout_s` is not 0).
    pub flags: u32,
    /// Persistence timeout in seconds (0: not persistent).
    pub timeout_s: u32,
    /// IPVS_SVC_ATTR_NETMASK: persistence netmask (IPv4, network order as a u32 in
    /// native byte order of the octets) or prefix length (IPv6).
    pub netmask: u32,
    /// Persistence engine name ("sip"), if any.
    pub pe_name: Option<String>,
}

/// What names a destination within its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

/// A destination (real server) with its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    pub key: DestKey,
    /// IPVS_DEST_ATTR_FWD_METHOD: 0 masquerade, 2 tunnel, 3 direct route.
    pub fwd_method: u32,
    pub weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    /// Tunnel type (0 ipip, 1 gue, 2 gre), GUE port and tunnel flags; 0 unless tunnelling.
    pub tun_type: u8,
    pub tun_port: u16,
    pub tun_flags: u16,
}

/// One change to the kernel's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpvsOp {
    AddService(Service),
    /// Changes the settings of an existing service (scheduler, flags, timeout, netmask).
    EditService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Dest),
    /// Changes weight, thresholds or forwarding of an existing destination.
    EditDest(ServiceKey, Dest),
    DelDest(ServiceKey, DestKey),
}
