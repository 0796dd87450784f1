//! The real binary in a real terminal: tmux runs it (under mpirun for the live dashboard), keys
//! are typed with send-keys, and the screen is read with capture-pane.

mod common;

use mpitorrent::tools::launch::Mpi;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of its own, with one 120 x 36 window running a plain shell in `dir`, in which
/// the MPI launcher can run.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(dir: &Path, name: &str) -> Tmux {
        let tmux = Tmux { socket: format!("mpitorrent-test-{name}-{}", std::process::id()) };
        let status = tmux
            .command()
            .args(["new-session", "-d", "-x", "120", "-y", "36", "-c"])
            .arg(dir)
            .args(["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "TERM=xterm-256color", "HOME=/tmp"])
            .args(Mpi::linked().environment().iter().map(|(name, value)| format!("{name}={value}")))
            .args(["PS1=ready$ ", "bash", "--norc", "--noprofile"])
            .status()
            .expect("tmux is installed (see .ci/setup)");
        assert!(status.success(), "tmux started");
        tmux.wait_for("the shell prompt", |s| s.contains("ready$"));
        tmux
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    fn send(&self, keys: &[&str]) {
        let status = self.command().arg("send-keys").args(keys).status().unwrap();
        assert!(status.success());
    }

    fn type_line(&self, line: &str) {
        self.send(&["-l", line]);
        self.send(&["Enter"]);
    }

    fn screen(&self) -> String {
        let out = self.command().args(["capture-pane", "-p"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `ready`, failing with the screen after 30 s.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "waited 30 s for {what}; the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The shell's terminal settings are the cooked ones a shell expects.
    fn assert_sane(&self) {
        // `E""ND` so that the typed line itself does not show what the answer is waited for by.
        self.type_line("clear; stty -a | tr ' ' '\\n' | grep -xE -- '-?(icanon|echo|isig)' | tr '\\n' ' '; echo E\"\"ND");
        let screen = self.wait_for("stty's answer", |s| s.lines().any(|l| l.ends_with("END")));
        let answer = screen.lines().find(|l| l.ends_with("END")).unwrap_or_default();
        let mut flags: Vec<&str> = answer.split_whitespace().filter(|w| *w != "END").collect();
        flags.sort_unstable();
        assert_eq!(flags, ["echo", "icanon", "isig"], "the terminal is not back to normal:\n{screen}");
    }
}

/// The exit codes printed by `; echo ex""it=$?` so far, oldest first.
fn exits(screen: &str) -> Vec<String> {
    screen.lines().filter_map(|l| l.strip_prefix("exit=")).map(str::to_string).collect()
}

/// What to type after a command to see its exit code on the screen.
const SHOW_EXIT: &str = "; echo ex\"\"it=$?";

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}

/// The row and column (from 0) where `what` first shows on `screen`.
fn position(screen: &str, what: &str) -> (usize, usize) {
    let (row, line) = screen.lines().enumerate().find(|(_, l)| l.contains(what)).unwrap_or_else(|| panic!("{what}:\n{screen}"));
    (row, line[..line.find(what).unwrap()].chars().count())
}

fn demo_inputs(dir: &Path) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/demo");
    for entry in std::fs::read_dir(demo).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn the_live_dashboard_runs_under_mpirun_takes_keys_and_gives_the_terminal_back() {
    let dir = tempfile::tempdir().unwrap();
    demo_inputs(dir.path());
    let tmux = Tmux::start(dir.path(), "live");
    tmux.type_line(&format!(
        "{} {} --tui --out out --chunk-time 10 --record run.log{SHOW_EXIT}",
        Mpi::linked().command_line(9),
        common::BINARY
    ));
    let overview = tmux.wait_for("the overview", |s| {
        s.contains("mpitorrent · live · 8 peers") && s.contains("Pieces of") && s.contains("Chunks by round")
    });
    assert!(overview.contains("Latest transfers") && overview.contains("◆ 0: "), "{overview}");
    tmux.send(&[">", ">"]);
    tmux.wait_for("the chunk chosen with >", |s| s.contains("◆ 2: "));
    // A mouse click (an SGR report) on the piece map's row of marks, in its fourth column.
    let (row, column) = position(&tmux.screen(), "Peer  Held");
    tmux.send(&["-l", &format!("\x1b[<0;{};{}M", column + 11 + 4, row + 1)]);
    tmux.wait_for("the chunk clicked", |s| !s.contains("◆ 2: ") && s.contains("◆ "));
    tmux.send(&["5"]);
    tmux.wait_for("the time-space view", |s| s.contains("a line per transfer, uploader → downloader"));
    tmux.send(&["2"]);
    tmux.wait_for("the peers view", |s| s.contains("Wanted files"));
    tmux.send(&["Tab"]);
    tmux.wait_for("the files view", |s| s.contains("Holders per chunk"));
    tmux.send(&["?"]);
    tmux.wait_for("the help", |s| s.contains("this help (any key closes it)"));
    tmux.send(&["j"]);
    tmux.wait_for("the help to close", |s| !s.contains("this help"));
    let finished = tmux.wait_for("the end of the run", |s| s.contains("finished") && s.contains("q quits"));
    assert!(finished.contains("772/772 chunks 100%"), "{finished}");
    tmux.send(&["q"]);
    let after = tmux.wait_for("the shell", |s| !exits(s).is_empty());
    assert_eq!(exits(&after), ["0"], "{after}");
    assert!(after.contains("mpitorrent: 8 peers, 14 files completed"), "the summary follows the dashboard:\n{after}");
    assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 14);
    tmux.assert_sane();

    // The recorded run replays in the same dashboard.
    tmux.type_line(&format!("clear; {} replay run.log{SHOW_EXIT}", common::BINARY));
    tmux.wait_for("the replay", |s| s.contains("replay of run.log"));
    tmux.send(&["End"]);
    tmux.wait_for("the end of the replay", |s| s.contains("772/772 chunks 100%"));
    // Paused first: playing on from the start, the first chunks arrive within a frame or two.
    tmux.send(&["Space"]);
    tmux.send(&["Home"]);
    tmux.wait_for("the start of the replay", |s| s.contains("0/772 chunks") && s.contains("paused"));
    tmux.send(&["q"]);
    let after = tmux.wait_for("the shell", |s| !exits(s).is_empty());
    assert_eq!(exits(&after), ["0"], "{after}");
    tmux.assert_sane();

    // And beside the shipped sample run of the same inputs, on one clock.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.log");
    tmux.type_line(&format!("clear; {} replay run.log {}{SHOW_EXIT}", common::BINARY, sample.display()));
    tmux.wait_for("the comparison", |s| s.contains("A: run.log against B: ") && s.contains("How the runs differ"));
    tmux.send(&["End"]);
    let end = tmux.wait_for("both at their end", |s| s.contains(" A · 100% ") && s.contains(" B · 100% "));
    assert!(end.contains("peer 1 done"), "one scenario: the peers compared:\n{end}");
    tmux.send(&["q"]);
    let after = tmux.wait_for("the shell", |s| !exits(s).is_empty());
    assert_eq!(exits(&after), ["0"], "{after}");
    tmux.assert_sane();
}

#[test]
fn quitting_the_dashboard_mid_run_stops_every_rank_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    demo_inputs(dir.path());
    let tmux = Tmux::start(dir.path(), "quit");
    tmux.type_line(&format!("{} {} --tui --out out --chunk-time 200{SHOW_EXIT}", Mpi::linked().command_line(9), common::BINARY));
    tmux.wait_for("the dashboard", |s| s.contains("running"));
    tmux.send(&["q"]);
    let after = tmux.wait_for("the shell", |s| !exits(s).is_empty());
    assert!(after.contains("the dashboard was closed before the end"), "{after}");
    assert_ne!(exits(&after), ["0"], "{after}");
    tmux.assert_sane();
}

#[test]
fn replay_follows_a_log_that_is_still_being_written() {
    let dir = tempfile::tempdir().unwrap();
    demo_inputs(dir.path());
    // A slow run, recording, in the background.
    let mpi = Mpi::linked();
    let words = mpi.words(9);
    let mut run = Command::new(&words[0])
        .args(&words[1..])
        .args([common::BINARY, "--out", "out", "--chunk-time", "15", "--record", "run.log"])
        .current_dir(dir.path())
        .envs(mpi.environment().iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !dir.path().join("run.log").exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "the run never started its log");
        std::thread::sleep(Duration::from_millis(50));
    }
    let tmux = Tmux::start(dir.path(), "follow");
    tmux.type_line(&format!("{} replay --follow run.log{SHOW_EXIT}", common::BINARY));
    let early = tmux.wait_for("the replay", |s| s.contains("replay of run.log") && s.contains("following"));
    assert!(!early.contains("772/772"), "the run had not ended yet:\n{early}");
    tmux.wait_for("the followed run's end", |s| s.contains("772/772 chunks 100%"));
    assert!(run.wait().unwrap().success());
    tmux.send(&["q"]);
    let after = tmux.wait_for("the shell", |s| !exits(s).is_empty());
    assert_eq!(exits(&after), ["0"], "{after}");
}

#[test]
fn a_lesson_stops_at_each_caption_until_space_and_gives_the_terminal_back() {
    let dir = tempfile::tempdir().unwrap();
    let lesson = "title = \"Four peers\"\nabout = \"A small flash crowd.\"\ngen = \"flash-crowd --peers 4 --chunks 30\"\n\
                  speed = 1.0\n\n[[run]]\nname = \"rarest\"\noptions = \"--chunk-time 20 --piece-order rarest\"\n\n\
                  [[caption]]\nat = \"start\"\npeers = [1]\ntext = \"Peer 1 is the seed.\"\n\n\
                  [[caption]]\nat = \"round 10\"\nview = \"pieces\"\ntext = \"Round 10: chunks spread.\"\n\n\
                  [[caption]]\nat = \"every peer completes\"\ntext = \"Every peer is done.\"\n";
    std::fs::write(dir.path().join("small.toml"), lesson).unwrap();
    let tmux = Tmux::start(dir.path(), "lesson");
    // The lesson makes its run under mpirun itself, then shows it.
    tmux.type_line(&format!("{} lesson small.toml --dir runs{SHOW_EXIT}", common::BINARY));
    // A capture can catch a frame half drawn: the whole of it is waited for.
    let first = tmux.wait_for("the first caption", |s| {
        s.contains("Lesson 1/3 · start")
            && s.contains("space goes on")
            && s.contains("Peer 1 is the seed.")
            && s.contains("paused")
    });
    assert!(first.contains("▶  1"), "the seed is marked:\n{first}");
    std::thread::sleep(Duration::from_millis(1500));
    let still = tmux.screen();
    assert!(still.contains("Lesson 1/3") && still.contains("0:00.0"), "it waits at the caption:\n{still}");
    tmux.send(&["Space"]);
    let second = tmux.wait_for("the second caption, stopped at round 10 (0.2 s)", |s| {
        let caption =
            s.contains("Lesson 2/3 · round 10") && s.contains("space goes on") && s.contains("Round 10: chunks spread.");
        caption && s.contains("0:00.2")
    });
    assert!(second.contains("Pieces of file1"), "it shows the pieces:\n{second}");
    tmux.send(&["Space"]);
    tmux.wait_for("the last caption", |s| s.contains("Lesson 3/3 · every peer completes") && s.contains("Every peer is done."));
    tmux.send(&["q"]);
    let after = tmux.wait_for("the shell", |s| !exits(s).is_empty());
    assert_eq!(exits(&after), ["0"], "{after}");
    assert!(dir.path().join("runs/run1.log").is_file(), "the run's log is kept");
    tmux.assert_sane();
}

#[test]
fn a_replay_of_a_cut_log_says_so_in_its_header_from_start_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.log")).unwrap();
    std::fs::write(dir.path().join("cut.log"), &whole[..whole.len() * 2 / 3]).unwrap();
    let tmux = Tmux::start(dir.path(), "cut");
    tmux.type_line(&format!("{} replay cut.log{SHOW_EXIT}", common::BINARY));
    let header = |s: &str| s.lines().next().unwrap_or_default().to_string();
    let first = tmux.wait_for("the replay", |s| header(s).contains("replay of cut.log"));
    assert!(header(&first).contains("(log cut short)"), "{first}");
    tmux.send(&["End"]);
    let end = tmux.wait_for("the end of the log", |s| header(s).contains("at the end"));
    assert!(header(&end).contains("(log cut short)"), "{end}");
    assert!(end.contains("the log ends in the middle of this line"), "{end}");
    tmux.send(&["q"]);
    let after = tmux.wait_for("the shell", |s| !exits(s).is_empty());
    assert_eq!(exits(&after), ["0"], "{after}");
}
