//! The second floor of `bfd-bench` part 1: a BFD-shaped end that hands its transmit timer to
//! the kernel. Every packet of the next 40 ms is queued ahead as an io_uring chain of an
//! absolute TIMEOUT linked to a SEND (neither posts a completion when it succeeds), so a
//! transmission wakes no user code: the kernel runs the send from the timer's task work.
//! User space wakes only when the Detection Time would run out (newest kernel receive time +
//! 3 x 10 ms), drains the receive socket there, tops the chain up and sleeps again, which is
//! the least a design that detects in user space can do. It carries no protocol either.
//!
//! io_uring is driven by raw system calls (no library): only the structures this loop uses
//! are declared, with the layouts of `include/uapi/linux/io_uring.h`.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;

const IORING_OP_TIMEOUT: u8 = 11;
const IORING_OP_SEND: u8 = 26;
const IOSQE_IO_LINK: u8 = 1 << 2;
const IOSQE_CQE_SKIP_SUCCESS: u8 = 1 << 6;
const IORING_TIMEOUT_ABS: u32 = 1 << 0;
const IORING_TIMEOUT_ETIME_SUCCESS: u32 = 1 << 5;
const IORING_ENTER_GETEVENTS: u32 = 1 << 0;
const IORING_ENTER_EXT_ARG: u32 = 1 << 3;
const IORING_FEAT_SINGLE_MMAP: u32 = 1 << 0;
const IORING_OFF_SQ_RING: i64 = 0;
const IORING_OFF_CQ_RING: i64 = 0x800_0000;
const IORING_OFF_SQES: i64 = 0x1000_0000;
const ENTRIES: u32 = 64;

#[repr(C)]
#[derive(Default)]
struct SqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    flags: u32,
    dropped: u32,
    array: u32,
    resv1: u32,
    user_addr: u64,
}

#[repr(C)]
#[derive(Default)]
struct CqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    overflow: u32,
    cqes: u32,
    flags: u32,
    resv1: u32,
    user_addr: u64,
}

#[repr(C)]
#[derive(Default)]
struct Params {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: SqOffsets,
    cq_off: CqOffsets,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Sqe {
    opcode: u8,
    flags: u8,
    ioprio: u16,
    fd: i32,
    off: u64,
    addr: u64,
    len: u32,
    op_flags: u32,
    user_data: u64,
    buf_index: u16,
    personality: u16,
    splice_fd_in: i32,
    addr3: u64,
    pad: u64,
}

#[repr(C)]
struct Cqe {
    user_data: u64,
    res: i32,
    flags: u32,
}

#[repr(C)]
struct GetEventsArg {
    sigmask: u64,
    sigmask_sz: u32,
    min_wait_usec: u32,
    ts: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

impl KernelTimespec {
    fn from_ns(ns: u64) -> Self {
        KernelTimespec {
            tv_sec: (ns / 1_000_000_000) as i64,
            tv_nsec: (ns % 1_000_000_000) as i64,
        }
    }
}

/// A mapped ring: the submission queue, the completion queue and the SQE array.
struct Ring {
    fd: i32,
    sq: *mut u8,
    sq_len: usize,
    cq: *mut u8,
    cq_len: usize,
    sqes: *mut Sqe,
    p: Params,
}

impl Ring {
    fn new() -> Result<Ring, String> {
        let mut p = Params::default();
        // SAFETY: io_uring_setup with a valid params pointer.
        let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, ENTRIES, &mut p) } as i32;
        if fd < 0 {
            return Err(format!(
                "io_uring_setup: {}",
                std::io::Error::last_os_error()
            ));
        }
        let sq_len = (p.sq_off.array + p.sq_entries * 4) as usize;
        let cq_len = (p.cq_off.cqes as usize) + p.cq_entries as usize * std::mem::size_of::<Cqe>();
        let map = |len: usize, off: i64| -> Result<*mut u8, String> {
            // SAFETY: mapping the ring fd at a documented offset.
            let m = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_POPULATE,
                    fd,
                    off,
                )
            };
            if m == libc::MAP_FAILED {
                Err(format!("mmap: {}", std::io::Error::last_os_error()))
            } else {
                Ok(m.cast())
            }
        };
        let single = p.features & IORING_FEAT_SINGLE_MMAP != 0;
        let sq_len = if single { sq_len.max(cq_len) } else { sq_len };
        let sq = map(sq_len, IORING_OFF_SQ_RING)?;
        let cq = if single {
            sq
        } else {
            map(cq_len, IORING_OFF_CQ_RING)?
        };
        let sqes = map(
            p.sq_entries as usize * std::mem::size_of::<Sqe>(),
            IORING_OFF_SQES,
        )?
        .cast::<Sqe>();
        Ok(Ring {
            fd,
            sq,
            sq_len,
            cq,
            cq_len,
            sqes,
            p,
        })
    }

    fn u32_at(base: *mut u8, off: u32) -> &'static std::sync::atomic::AtomicU32 {
        // SAFETY: the offsets come from the kernel and point at aligned u32s inside the
        // mapping, which lives as long as the process (the loop never returns).
        unsafe {
            &*(base
                .add(off as usize)
                .cast::<std::sync::atomic::AtomicU32>())
        }
    }

    /// Queues `sqe`; false when the submission queue is full.
    fn push(&mut self, sqe: Sqe) -> bool {
        use std::sync::atomic::Ordering::{Acquire, Release};
        let head = Self::u32_at(self.sq, self.p.sq_off.head).load(Acquire);
        let tail_a = Self::u32_at(self.sq, self.p.sq_off.tail);
        let tail = tail_a.load(Acquire);
        if tail.wrapping_sub(head) >= self.p.sq_entries {
            return false;
        }
        let mask = Self::u32_at(self.sq, self.p.sq_off.ring_mask).load(Acquire);
        let idx = tail & mask;
        // SAFETY: idx < sq_entries; the SQE slot and the array entry are ours until the
        // tail is published.
        unsafe {
            *self.sqes.add(idx as usize) = sqe;
            let array = self.sq.add(self.p.sq_off.array as usize).cast::<u32>();
            *array.add(idx as usize) = idx;
        }
        tail_a.store(tail.wrapping_add(1), Release);
        true
    }

    /// Submits `n` entries and waits up to `wait_ns` for a completion.
    fn enter(&mut self, n: u32, wait_ns: u64) {
        let ts = KernelTimespec::from_ns(wait_ns);
        let arg = GetEventsArg {
            sigmask: 0,
            sigmask_sz: 0,
            min_wait_usec: 0,
            ts: &ts as *const KernelTimespec as u64,
        };
        // SAFETY: io_uring_enter with a valid extended argument.
        unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                self.fd,
                n,
                1u32,
                IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
                &arg as *const GetEventsArg,
                std::mem::size_of::<GetEventsArg>(),
            )
        };
    }

    /// Consumes the completions (only failures post one); returns how many.
    fn reap(&mut self) -> u32 {
        use std::sync::atomic::Ordering::{Acquire, Release};
        let head_a = Self::u32_at(self.cq, self.p.cq_off.head);
        let head = head_a.load(Acquire);
        let tail = Self::u32_at(self.cq, self.p.cq_off.tail).load(Acquire);
        head_a.store(tail, Release);
        tail.wrapping_sub(head)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmapping what new() mapped, then closing the ring.
        unsafe {
            libc::munmap(self.sq.cast(), self.sq_len);
            if self.cq != self.sq {
                libc::munmap(self.cq.cast(), self.cq_len);
            }
            libc::munmap(
                self.sqes.cast(),
                self.p.sq_entries as usize * std::mem::size_of::<Sqe>(),
            );
            libc::close(self.fd);
        }
    }
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    // SAFETY: timespec is plain data; valid clock id.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(clock, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Runs the loop; returns only on a setup error.
pub fn run(rx: UdpSocket, tx: UdpSocket, pkt: [u8; 24]) -> Result<(), String> {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt with a valid int.
    unsafe {
        libc::setsockopt(
            rx.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    let mut ring = Ring::new()?;
    const N: usize = 8;
    let mut bufs = [[0u8; 64]; N];
    let mut cmsg = [[0u64; 8]; N];
    let mut iovs: Vec<libc::iovec> = bufs
        .iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect();
    // SAFETY: mmsghdr is plain data; all-zero is a valid empty header.
    let mut msgs: Vec<libc::mmsghdr> = (0..N).map(|_| unsafe { std::mem::zeroed() }).collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
    const DETECT: u64 = 30_000_000;
    let mut horizon = clock_ns(libc::CLOCK_MONOTONIC);
    let mut deadline = horizon + DETECT;
    let mut stamps: Vec<KernelTimespec> = Vec::with_capacity(ENTRIES as usize / 2);
    loop {
        let now = clock_ns(libc::CLOCK_MONOTONIC);
        let mut queued = 0;
        stamps.clear();
        while horizon < now + 40_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let next = horizon + 7_500_000 + x % 2_500_000;
            // The kernel copies the timespec when the entry is submitted (in `enter`
            // below); the vector never grows past its capacity, so the pointer holds.
            if stamps.len() == stamps.capacity() {
                break;
            }
            stamps.push(KernelTimespec::from_ns(next));
            let ts = &stamps[stamps.len() - 1];
            let timeout = Sqe {
                opcode: IORING_OP_TIMEOUT,
                flags: IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS,
                fd: -1,
                addr: ts as *const KernelTimespec as u64,
                len: 1,
                op_flags: IORING_TIMEOUT_ABS | IORING_TIMEOUT_ETIME_SUCCESS,
                ..Sqe::default()
            };
            let send = Sqe {
                opcode: IORING_OP_SEND,
                flags: IOSQE_CQE_SKIP_SUCCESS,
                fd: tx.as_raw_fd(),
                addr: pkt.as_ptr() as u64,
                len: pkt.len() as u32,
                user_data: 1,
                ..Sqe::default()
            };
            if !ring.push(timeout) {
                break;
            }
            if !ring.push(send) {
                break;
            }
            queued += 2;
            horizon = next;
        }
        ring.enter(queued, deadline.saturating_sub(now));
        ring.reap();
        for ((m, iov), c) in msgs.iter_mut().zip(iovs.iter_mut()).zip(cmsg.iter_mut()) {
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_control = c.as_mut_ptr().cast();
            m.msg_hdr.msg_controllen = std::mem::size_of_val(c);
        }
        // SAFETY: msgs/iovs/bufs/cmsg outlive the call; vlen matches.
        let n = unsafe {
            libc::recvmmsg(
                rx.as_raw_fd(),
                msgs.as_mut_ptr(),
                N as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        let now = clock_ns(libc::CLOCK_MONOTONIC);
        if n > 0 {
            let last = &msgs[n as usize - 1].msg_hdr;
            // SAFETY: the kernel filled the control buffer of this header.
            let ts = unsafe {
                let c = libc::CMSG_FIRSTHDR(last);
                (!c.is_null() && (*c).cmsg_type == libc::SCM_TIMESTAMPNS).then(|| {
                    let t = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
                })
            };
            let age = ts.map_or(0, |t| clock_ns(libc::CLOCK_REALTIME).saturating_sub(t));
            deadline = now.saturating_sub(age) + DETECT;
        }
        if deadline <= now {
            // A real end would declare Down here; the floor just starts over.
            deadline = now + DETECT;
        }
    }
}
