//! The `java kob.Driver` process: its pipes, a thread forwarding its replies
//! (and keeping its progress counts), a thread keeping the tail of its log,
//! one request at a time, and the kill when it is dropped.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::driver::java::protocol::{ProgressLine, Reply, Request};
use crate::driver::java::{DriverError, JavaClient};

const LOG_LINES: usize = 30;

/// One running driver process.
pub(super) struct DriverProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: Receiver<String>,
    /// Records handed to `send()`, from the progress lines.
    pub(super) sent: Arc<AtomicU64>,
    /// Records acknowledged, from the progress lines.
    pub(super) acked: Arc<AtomicU64>,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl DriverProcess {
    /// The driver JVM's process id, for its CPU time ([`crate::cpu`]).
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `java kob.Driver` on the client's classpath.
    pub(super) fn spawn(client: &JavaClient) -> Result<DriverProcess, DriverError> {
        let mut child = Command::new(&client.java)
            .arg("-cp")
            .arg(&client.classpath)
            .arg("kob.Driver")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| DriverError::Io {
                action: "run",
                path: client.java.clone(),
                cause: source,
            })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let sent = Arc::new(AtomicU64::new(0));
        let acked = Arc::new(AtomicU64::new(0));
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, replies) = mpsc::channel();
        {
            let (sent, acked) = (Arc::clone(&sent), Arc::clone(&acked));
            std::thread::spawn(move || forward_replies(stdout, tx, &sent, &acked));
        }
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || keep_log_tail(stderr, &log));
        }
        Ok(DriverProcess {
            child,
            stdin,
            replies,
            sent,
            acked,
            log,
        })
    }

    /// Sends one request and waits for its reply; an `error` reply is an
    /// error.
    pub(super) fn call(&mut self, request: &Request) -> Result<Reply, DriverError> {
        let op = request.op();
        let line = request.line() + "\n";
        let written = self
            .stdin
            .as_mut()
            .map(|s| s.write_all(line.as_bytes()).and_then(|_| s.flush()));
        if !matches!(written, Some(Ok(()))) {
            return Err(self.exited(op));
        }
        let Ok(reply) = self.replies.recv() else {
            return Err(self.exited(op));
        };
        match serde_json::from_str::<Reply>(&reply) {
            Ok(Reply::Error(message)) => Err(DriverError::Driver { op, message }),
            Ok(r) => Ok(r),
            Err(e) => Err(DriverError::Protocol {
                op,
                reply,
                detail: e.to_string(),
            }),
        }
    }

    fn exited(&mut self, op: &'static str) -> DriverError {
        // Give the process a moment to finish dying so its status is known.
        let deadline = Instant::now() + Duration::from_secs(2);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s.to_string(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => break "still running, not answering".to_string(),
                Err(e) => break e.to_string(),
            }
        };
        std::thread::sleep(Duration::from_millis(50));
        let log = self.log.lock().expect("log lock");
        DriverError::Exited {
            op,
            status,
            log: log.iter().cloned().collect::<Vec<_>>().join("\n"),
        }
    }

    /// Closes the process's stdin and waits up to `timeout` for it to exit.
    pub(super) fn close_and_wait(&mut self, timeout: Duration) {
        self.stdin.take();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Sends every stdout line but the progress lines to `tx`; progress lines
/// raise the counts instead.
fn forward_replies(stdout: ChildStdout, tx: Sender<String>, sent: &AtomicU64, acked: &AtomicU64) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if line.starts_with("{\"progress\":") {
            if let Ok(ProgressLine { progress: p }) = serde_json::from_str(&line) {
                sent.fetch_max(p.sent, Ordering::Relaxed);
                acked.fetch_max(p.acked, Ordering::Relaxed);
            }
            continue;
        }
        if tx.send(line).is_err() {
            break;
        }
    }
}

/// Keeps the last [`LOG_LINES`] lines of stderr, for the error when the
/// process dies.
fn keep_log_tail(stderr: ChildStderr, log: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let mut l = log.lock().expect("log lock");
        if l.len() == LOG_LINES {
            l.pop_front();
        }
        l.push_back(line);
    }
}
