//! The kernel's CPU wake-up latency request (PM QoS, `/dev/cpu_dma_latency`).
//!
//! A process that holds the file open with a value of N µs keeps every CPU out of idle
//! states whose exit latency exceeds N. With 0, idle CPUs poll instead of halting. In a VM
//! that matters more than anywhere: a halted vCPU is woken by the hypervisor, which can take
//! milliseconds, and a timer that should fire an advert then fires late. The request lasts
//! while the file stays open and ends when it is closed (or the process exits).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};

const PATH: &str = "/dev/cpu_dma_latency";

/// An open latency request.
#[derive(Debug)]
pub struct CpuLatencyRequest {
    file: File,
    us: u32,
}

impl CpuLatencyRequest {
    /// Opens the request with `us` microseconds.
    pub fn new(us: u32) -> io::Result<CpuLatencyRequest> {
        let file = OpenOptions::new().write(true).open(PATH)?;
        let mut r = CpuLatencyRequest { file, us: u32::MAX };
        r.set(us)?;
        Ok(r)
    }

    /// Changes the requested latency (the kernel takes a native-endian 32-bit value).
    pub fn set(&mut self, us: u32) -> io::Result<()> {
        if us != self.us {
            let v = i32::try_from(us).unwrap_or(i32::MAX);
            self.file.write_all(&v.to_ne_bytes())?;
            self.us = us;
        }
        Ok(())
    }

    /// The value in force.
    pub fn us(&self) -> u32 {
        self.us
    }
}
