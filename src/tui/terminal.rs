//! Taking over the terminal for the dashboard, and always giving it back: on quit, on a panic,
//! and on the signals mpirun sends when the job ends elsewhere.
//!
//! Under mpirun, rank 0's standard streams are pipes to the launcher, which fills standard input
//! from the terminal. So the dashboard draws on the terminal itself, sets its modes and reads its
//! size there, and reads keys from standard input: in raw mode, each key as it is pressed. Open
//! MPI runs rank 0 in a process group of its own, in the terminal's session: it opens `/dev/tty`
//! and changes the modes with SIGTTOU ignored (it would otherwise stop the process). MPICH's
//! hydra starts each rank in a session of its own, which has no terminal: rank 0 opens the one
//! `mpiexec` runs in. Run directly, standard input is the terminal itself, and the same code works.

use crate::tui::keys::{decode, incomplete, Key};
use crossbeam_channel::Receiver;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::layout::Rect;
use ratatui::{Frame, Terminal, TerminalOptions, Viewport};
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The terminal taken over and its modes before, to give it back; `None` when it is not ours, so
/// that restoring it twice is harmless.
static TAKEN: Mutex<Option<(File, libc::termios)>> = Mutex::new(None);

pub struct Screen {
    terminal: Terminal<CrosstermBackend<File>>,
    /// The same terminal, whose size is asked before each frame.
    tty: File,
    stop: Arc<AtomicBool>,
    /// The signal handlers set up for the screen, removed with it.
    handlers: Vec<signal_hook::SigId>,
}

impl Screen {
    /// Takes over the terminal; an error if there is none.
    pub fn open() -> std::io::Result<Screen> {
        // SAFETY: ignoring a signal has no preconditions.
        unsafe { libc::signal(libc::SIGTTOU, libc::SIG_IGN) };
        let tty = open_terminal()?;
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
        let taken = tty.try_clone().and_then(Self::take_over);
        if taken.is_err() {
            restore();
            handlers.iter().for_each(|&id| {
                signal_hook::low_level::unregister(id);
            });
        }
        Ok(Screen { terminal: taken?, tty, stop, handlers })
    }

    fn take_over(mut tty: File) -> std::io::Result<Terminal<CrosstermBackend<File>>> {
        // SAFETY: termios is plain data, filled in by tcgetattr before it is read.
        let mut modes: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: a valid descriptor and a valid out-pointer.
        if unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut modes) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut raw = modes;
        // SAFETY: a valid termios, changed in place.
        unsafe { libc::cfmakeraw(&mut raw) };
        *TAKEN.lock().unwrap_or_else(PoisonError::into_inner) = Some((tty.try_clone()?, modes));
        // SAFETY: a valid descriptor and termios.
        if unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &raw) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        execute!(tty, terminal::EnterAlternateScreen, cursor::Hide)?;
        tty.write_all(MOUSE_ON)?;
        // Fixed: ratatui would ask crossterm for the size, which looks at /dev/tty only.
        let viewport = Viewport::Fixed(size(&tty)?);
        Terminal::with_options(CrosstermBackend::new(tty), TerminalOptions { viewport })
    }

    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> std::io::Result<()> {
        let area = self.area();
        if area != self.terminal.get_frame().area() {
            self.terminal.resize(area)?;
        }
        self.terminal.draw(render).map(|_| ())
    }

    /// The screen's area, as the next frame will have it.
    pub fn area(&self) -> Rect {
        size(&self.tty).unwrap_or_default()
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

/// Gives the terminal back as it was: its modes, the main screen, the cursor shown.
pub fn restore() {
    let taken = TAKEN.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some((mut tty, modes)) = taken {
        // SAFETY: a valid descriptor and termios.
        unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &modes) };
        let _ = tty.write_all(MOUSE_OFF);
        let _ = execute!(tty, terminal::LeaveAlternateScreen, cursor::Show);
    }
}

/// Writes `line` on the terminal the dashboard was drawn on, else on stderr: a line on stderr goes
/// through the launcher, which can lose it when the job is aborted right after.
pub fn tell(line: &str) {
    if open_terminal().and_then(|mut tty| writeln!(tty, "{line}")).is_err() {
        eprintln!("{line}");
    }
}

/// The terminal to draw on: the controlling terminal, or else the one `mpiexec` runs in when this
/// is a rank that MPICH's hydra proxy started (it gives each rank a session of its own, without
/// one).
fn open_terminal() -> std::io::Result<File> {
    File::options().read(true).write(true).open("/dev/tty").or_else(|none| launchers_terminal().ok_or(none))
}

/// The controlling terminal of the launcher that started the hydra proxy that is this process's
/// parent, opened without making it this process's own.
fn launchers_terminal() -> Option<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let proxy = std::os::unix::process::parent_id();
    let name = std::fs::read_to_string(format!("/proc/{proxy}/comm")).ok()?;
    if name.trim_end() != "hydra_pmi_proxy" {
        return None;
    }
    // Fields after the command, which is in parentheses and may hold spaces: the parent is the
    // second, the controlling terminal the fifth (0: none), its major number in bits 8 to 15 and
    // its minor number in the others (proc(5)).
    let fields = |pid: u32| -> Option<Vec<u32>> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?.1.split_whitespace().skip(1).take(4).map(|f| f.parse().ok()).collect()
    };
    let launcher = *fields(proxy)?.first()?;
    let terminal = *fields(launcher)?.get(3)?;
    let (major, minor) = ((terminal >> 8) & 0xfff, (terminal & 0xff) | ((terminal >> 12) & 0xfff00));
    if terminal == 0 {
        return None;
    }
    // The launcher's standard streams: one of them is usually its terminal.
    (0..3).find_map(|fd| {
        let path = format!("/proc/{launcher}/fd/{fd}");
        let file = File::options().read(true).write(true).custom_flags(libc::O_NOCTTY).open(path).ok()?;
        let device = file.metadata().ok()?.rdev();
        (libc::major(device) == major && libc::minor(device) == minor).then_some(file)
    })
}

/// The size of the terminal `tty`.
fn size(tty: &File) -> std::io::Result<Rect> {
    // SAFETY: winsize is plain data, filled in by the ioctl before it is read.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a valid out-pointer of the type TIOCGWINSZ writes.
    if unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCGWINSZ, &mut size) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Rect::new(0, 0, size.ws_col, size.ws_row))
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
