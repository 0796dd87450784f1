//! Taking over the terminal for the dashboard, and always giving it back: on quit, on a panic,
//! and on the signals mpirun sends when the job ends elsewhere.
//!
//! Under mpirun, rank 0 runs in a process group of its own and its standard streams are pipes to
//! mpirun. So the dashboard draws on `/dev/tty`, changes its modes with SIGTTOU ignored (it would
//! otherwise stop the process), and reads keys from standard input, which mpirun fills from the
//! terminal: in raw mode, each key as it is pressed. Run directly, standard input is the terminal
//! itself, and the same code works.

use crate::tui::keys::{decode, incomplete, Key};
use crossbeam_channel::Receiver;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::{Frame, Terminal};
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The terminal is ours; restoring it twice must be harmless.
static ACTIVE: AtomicBool = AtomicBool::new(false);

pub struct Screen {
    terminal: Terminal<CrosstermBackend<File>>,
    stop: Arc<AtomicBool>,
    /// The signal handlers set up for the screen, removed with it.
    handlers: Vec<signal_hook::SigId>,
}

impl Screen {
    /// Takes over the controlling terminal; an error if there is none.
    pub fn open() -> std::io::Result<Screen> {
        // SAFETY: ignoring a signal has no preconditions.
        unsafe { libc::signal(libc::SIGTTOU, libc::SIG_IGN) };
        let tty = File::options().read(true).write(true).open("/dev/tty")?;
        let stop = Arc::new(AtomicBool::new(false));
        let handlers = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP]
            .into_iter()
            .map(|signal| signal_hook::flag::register(signal, stop.clone()))
            .collect::<std::io::Result<Vec<_>>>()?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        let taken = Self::take_over(tty);
        if taken.is_err() {
            restore();
            handlers.iter().for_each(|&id| {
                signal_hook::low_level::unregister(id);
            });
        }
        Ok(Screen { terminal: taken?, stop, handlers })
    }

    fn take_over(mut tty: File) -> std::io::Result<Terminal<CrosstermBackend<File>>> {
        terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        execute!(tty, terminal::EnterAlternateScreen, cursor::Hide)?;
        tty.write_all(MOUSE_ON)?;
        Terminal::new(CrosstermBackend::new(tty))
    }

    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> std::io::Result<()> {
        self.terminal.draw(render).map(|_| ())
    }

    /// The screen's area, as the next frame will have it.
    pub fn area(&self) -> ratatui::layout::Rect {
        let size = self.terminal.size().unwrap_or_default();
        ratatui::layout::Rect::new(0, 0, size.width, size.height)
    }

    /// A signal asked this process to end (mpirun ending the job, or Ctrl-C before raw mode).
    pub fn interrupted(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
        // Signals end the process as usual again.
        for &id in &self.handlers {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Gives the terminal back as it was: normal mode, main screen, cursor shown.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        if let Ok(mut tty) = File::options().write(true).open("/dev/tty") {
            let _ = tty.write_all(MOUSE_OFF);
            let _ = execute!(tty, terminal::LeaveAlternateScreen, cursor::Show);
        }
    }
}

/// Mouse reports of button presses only (no motion), in the SGR encoding that
/// [`crate::tui::keys`] decodes; and their end.
const MOUSE_ON: &[u8] = b"\x1b[?1000h\x1b[?1006h";
const MOUSE_OFF: &[u8] = b"\x1b[?1006l\x1b[?1000l";

/// How long a cut escape sequence may wait for its rest before ESC counts as the Esc key.
const ESCAPE_WAIT_MS: i32 = 30;

/// Keys as they are typed on standard input, decoded on a thread of their own. The channel
/// closes if standard input does.
pub fn keys() -> Receiver<Key> {
    let (send, keys) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("keys".into())
        .spawn(move || {
            use std::io::Read;
            use std::os::fd::FromRawFd;
            // Read the descriptor itself, unbuffered, so that `readable_soon` sees every byte
            // not yet decoded. ManuallyDrop: standard input is not this thread's to close.
            // SAFETY: descriptor 0 stays open for the life of the process.
            let mut stdin = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(libc::STDIN_FILENO) });
            let mut buffer = [0u8; 256];
            let mut bytes = Vec::new();
            while let Ok(n @ 1..) = stdin.read(&mut buffer) {
                bytes.extend_from_slice(&buffer[..n]);
                // An arrow key cut in two by the pipe must not become Esc (quit) and a letter.
                while incomplete(&bytes) && readable_soon(ESCAPE_WAIT_MS) {
                    match stdin.read(&mut buffer) {
                        Ok(n @ 1..) => bytes.extend_from_slice(&buffer[..n]),
                        _ => break,
                    }
                }
                for key in decode(&bytes) {
                    if send.send(key).is_err() {
                        return;
                    }
                }
                bytes.clear();
            }
        })
        .expect("spawn the key reader");
    keys
}

/// Whether standard input has bytes to read within `ms` milliseconds.
fn readable_soon(ms: i32) -> bool {
    let mut poll = libc::pollfd { fd: libc::STDIN_FILENO, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, for the duration of the call.
    unsafe { libc::poll(&mut poll, 1, ms) > 0 }
}
