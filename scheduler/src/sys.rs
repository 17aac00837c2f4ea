//! The few system calls nix cannot make for us safely, wrapped in safe functions.
//!
//! nix's `SigSet` and `Signal` cannot name real-time signals, and keepalived uses two of them
//! (`SIGJSON` = SIGRTMIN+2, `SIGSTATS_CLEAR` = SIGRTMAX-1). nix's `waitpid` also fails to decode
//! a child killed by a real-time signal (after having reaped it, losing the status). So signal
//! sets and `waitpid` go through libc here; everything else in the crate uses nix's safe API.
//! This is the only module with `unsafe`, each block with its reason.
#![allow(unsafe_code)]

use std::io;
use std::mem::MaybeUninit;

use nix::sys::signal::SigSet;

/// A `sigset_t` that can hold any signal number, real-time ones included.
#[derive(Clone, Copy)]
pub(crate) struct RawSigSet(libc::sigset_t);

impl RawSigSet {
    pub(crate) fn empty() -> Self {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the whole set it is given; it cannot fail on a valid
        // pointer.
        unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            RawSigSet(set.assume_init())
        }
    }

    /// Adds `signo`; `false` if it is not a valid signal number.
    pub(crate) fn add(&mut self, signo: i32) -> bool {
        // SAFETY: self.0 is an initialised sigset_t; sigaddset validates signo.
        unsafe { libc::sigaddset(&mut self.0, signo) == 0 }
    }

    pub(crate) fn remove(&mut self, signo: i32) {
        // SAFETY: as in add.
        unsafe {
            libc::sigdelset(&mut self.0, signo);
        }
    }

    pub(crate) fn contains(&self, signo: i32) -> bool {
        // SAFETY: as in add; sigismember only reads the set.
        unsafe { libc::sigismember(&self.0, signo) == 1 }
    }

    /// The same set as nix's type, for `SignalFd`.
    pub(crate) fn to_nix(self) -> SigSet {
        // SAFETY: self.0 was initialised by sigemptyset and only modified by sigaddset/sigdelset.
        unsafe { SigSet::from_sigset_t_unchecked(self.0) }
    }

    /// The calling thread's current signal mask.
    pub(crate) fn thread_mask() -> io::Result<Self> {
        let mut old = Self::empty();
        // SAFETY: a null new set only reads the mask into `old`, a valid sigset_t.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut old.0) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(old)
    }

    /// Blocks (`block = true`) or unblocks the signals of this set in the calling thread.
    pub(crate) fn apply_to_thread(&self, block: bool) -> io::Result<()> {
        let how = if block {
            libc::SIG_BLOCK
        } else {
            libc::SIG_UNBLOCK
        };
        // SAFETY: self.0 is a valid sigset_t; the old mask is not requested.
        let rc = unsafe { libc::pthread_sigmask(how, &self.0, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(())
    }
}

/// SIGRTMIN as the C library defines it at run time (glibc reserves the first few).
pub fn sigrtmin() -> i32 {
    libc::SIGRTMIN()
}

/// SIGRTMAX as the C library defines it at run time.
pub fn sigrtmax() -> i32 {
    libc::SIGRTMAX()
}

/// How a reaped child ended, decoded from the raw wait status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reaped {
    Exited(i32),
    Signaled(i32),
}

/// `waitpid(pid, WNOHANG)`: `Ok(None)` while the child runs (or was stopped), `Ok(Some(_))` once
/// it has been reaped, `Err(ECHILD)` if it is not our child (or was reaped elsewhere). EINTR is
/// retried.
pub(crate) fn waitpid_nohang(pid: i32) -> io::Result<Option<Reaped>> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: status is a valid out-pointer; WNOHANG makes the call non-blocking.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == 0 {
            return Ok(None);
        }
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        if libc::WIFEXITED(status) {
            return Ok(Some(Reaped::Exited(libc::WEXITSTATUS(status))));
        }
        if libc::WIFSIGNALED(status) {
            return Ok(Some(Reaped::Signaled(libc::WTERMSIG(status))));
        }
        // Stopped or continued: without WUNTRACED/WCONTINUED we do not get these, but treat
        // them as "still running" rather than guessing.
        return Ok(None);
    }
}

/// `kill(pid, signo)` (or `kill(-pid, signo)` for a process group when `group`) with any signal
/// number. Errors (ESRCH: already gone) are returned for the caller to ignore or log.
pub(crate) fn send_signal(pid: i32, signo: i32, group: bool) -> io::Result<()> {
    let target = if group { -pid } else { pid };
    // SAFETY: kill has no memory-safety preconditions.
    let rc = unsafe { libc::kill(target, signo) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `epoll_pwait2` (Linux 5.11): like `epoll_wait`, with a nanosecond timeout (`None`: wait
/// for an event). mio's `poll` rounds its timeout up to whole milliseconds; the loop needs
/// the exact deadline. Fills `buf` (up to its capacity) with the ready events.
pub(crate) fn epoll_pwait2(
    epfd: std::os::fd::RawFd,
    buf: &mut Vec<libc::epoll_event>,
    timeout: Option<std::time::Duration>,
) -> io::Result<()> {
    buf.clear();
    let cap = libc::c_int::try_from(buf.capacity()).unwrap_or(libc::c_int::MAX);
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `buf` has room for `cap` events and the kernel writes at most `cap`; `tsp` is
    // null or points to a live timespec (64-bit on the targets we build for, as the kernel's
    // __kernel_timespec); a null signal mask leaves the mask alone (its size is then unused).
    let n = unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait2,
            epfd,
            buf.as_mut_ptr(),
            cap,
            tsp,
            std::ptr::null::<libc::sigset_t>(),
            0usize,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel initialised the first `n` (≤ cap) events.
    unsafe { buf.set_len(n as usize) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rt_signals_fit_in_a_set() {
        let mut s = RawSigSet::empty();
        assert!(s.add(sigrtmin() + 2));
        assert!(s.add(sigrtmax() - 1));
        assert!(!s.add(0x1000));
        assert!(s.contains(sigrtmin() + 2));
        s.remove(sigrtmin() + 2);
        assert!(!s.contains(sigrtmin() + 2));
        let _ = s.to_nix();
    }
}
