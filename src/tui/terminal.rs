//! Taking over the terminal for the dashboard, and always giving it back: on quit, on a panic,
//! and on the signals mpirun sends when the job ends elsewhere.
//!
//! Under mpirun, rank 0 runs in a process group of its own and its standard streams are pipes to
//! mpirun. So the dashboard draws on `/dev/tty`, changes its modes with SIGTTOU ignored (it would
//! otherwise stop the process), and reads keys from standard input, which mpirun fills from the
//! terminal: in raw mode, each key as it is pressed. Run directly, standard input is the terminal
//! itself, and the same code works.

use crate::tui::keys::{decode, Key};
use crossbeam_channel::Receiver;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::{Frame, Terminal};
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The terminal is ours; restoring it twice must be harmless.
static ACTIVE: AtomicBool = AtomicBool::new(false);

pub struct Screen {
    terminal: Terminal<CrosstermBackend<File>>,
    stop: Arc<AtomicBool>,
}

impl Screen {
    /// Takes over the controlling terminal; an error if there is none.
    pub fn open() -> std::io::Result<Screen> {
        // SAFETY: ignoring a signal has no preconditions.
        unsafe { libc::signal(libc::SIGTTOU, libc::SIG_IGN) };
        let mut tty = File::options().read(true).write(true).open("/dev/tty")?;
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            signal_hook::flag::register(signal, stop.clone())?;
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        execute!(tty, terminal::EnterAlternateScreen, cursor::Hide)?;
        Ok(Screen { terminal: Terminal::new(CrosstermBackend::new(tty))?, stop })
    }

    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> std::io::Result<()> {
        self.terminal.draw(render).map(|_| ())
    }

    /// A signal asked this process to end (mpirun ending the job, or Ctrl-C before raw mode).
    pub fn interrupted(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back as it was: normal mode, main screen, cursor shown.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        if let Ok(mut tty) = File::options().write(true).open("/dev/tty") {
            let _ = execute!(tty, terminal::LeaveAlternateScreen, cursor::Show);
        }
    }
}

/// Keys as they are typed on standard input, decoded on a thread of their own. The channel
/// closes if standard input does.
pub fn keys() -> Receiver<Key> {
    let (send, keys) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("keys".into())
        .spawn(move || {
            use std::io::Read;
            let mut stdin = std::io::stdin().lock();
            let mut buffer = [0u8; 64];
            while let Ok(n @ 1..) = stdin.read(&mut buffer) {
                for key in decode(&buffer[..n]) {
                    if send.send(key).is_err() {
                        return;
                    }
                }
            }
        })
        .expect("spawn the key reader");
    keys
}
