//! Captures the engine's `log` lines per thread, so the simulator can attribute them to the
//! node whose step produced them (reasons in the timeline, details with `--trace`). Each
//! thread has its own buffer and level, so parallel test threads do not mix.

use std::cell::RefCell;

thread_local! {
    static LEVEL: RefCell<log::LevelFilter> = const { RefCell::new(log::LevelFilter::Off) };
    static LINES: RefCell<Vec<(log::Level, String)>> = const { RefCell::new(Vec::new()) };
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        LEVEL.with(|l| m.level() <= *l.borrow())
    }

    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let line = r.args().to_string();
        LINES.with(|b| b.borrow_mut().push((r.level(), line)));
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

/// Installs the capturing logger (once per process; a logger installed by someone else
/// stays) and sets this thread's level. The global maximum only ever grows.
pub fn init(level: log::LevelFilter) {
    let _ = log::set_logger(&CAPTURE);
    if log::max_level() < level {
        log::set_max_level(level);
    }
    LEVEL.with(|l| *l.borrow_mut() = level);
    clear();
}

/// Takes the lines captured on this thread since the last call.
pub fn take(into: &mut Vec<(log::Level, String)>) {
    LINES.with(|b| into.append(&mut b.borrow_mut()));
}

pub fn clear() {
    LINES.with(|b| b.borrow_mut().clear());
}
