//! A thread's own file-descriptor table.
//!
//! `RLIMIT_NOFILE` bounds the descriptor *numbers* of a table (`open` fails with `EMFILE` once
//! every number below the soft limit is taken), and the threads of a process normally share one
//! table. A thread that calls `unshare(CLONE_FILES)` gets a copy of the table for itself: from then
//! on what it opens is numbered, and limited, in its own table. Where the hard limit cannot be
//! raised (a container without `CAP_SYS_RESOURCE`), N such threads let one process hold N times
//! the limit in sockets.
//!
//! Two rules keep this sound, both because a number means a different file (or none) in another
//! table:
//! - a socket opened by a detached thread is used by that thread only: its runtime is a
//!   current-thread one whose tasks own their sockets; what crosses threads are channels;
//! - waking a runtime from another thread writes to that runtime's wake-up descriptor (tokio's
//!   eventfd) by number, so every runtime another thread may wake is built *before* the detach:
//!   its descriptors are then in every table at the same number. [`detached_runtimes`] builds
//!   all of its runtimes, then detaches all of them. The caller's own runtime exists already.
//!
//! The price: each detached table keeps its copies of what was open when it detached (the
//! runtimes' epoll and eventfd among them) until its thread ends, so open as little as possible
//! before detaching (the server detaches before it binds anything); and the calling thread's
//! table keeps every detached runtime's epoll and eventfd (a few descriptors per runtime) until
//! the process ends, since they were opened there.

use std::sync::mpsc;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

/// Work for a detached thread: runs once, on that thread, with its runtime.
type Job = Box<dyn FnOnce(&Runtime) + Send>;

/// What a starting thread is told, in order: detach now, then its job.
enum Order {
    Detach,
    Run(Job),
}

/// A thread with a file-descriptor table and a current-thread runtime of its own, waiting for
/// its job ([`DetachedRuntime::run`]); dropped without one, the thread ends.
#[derive(Debug)]
pub struct DetachedRuntime {
    orders: mpsc::Sender<Order>,
    ended: oneshot::Receiver<()>,
}

/// Resolves once a detached thread has run its job and dropped its runtime.
#[derive(Debug)]
pub struct Ended(oneshot::Receiver<()>);

impl Ended {
    pub async fn wait(self) {
        // A dropped sender means the same: the thread is gone.
        let _ = self.0.await;
    }
}

impl DetachedRuntime {
    /// Runs `job` on the thread. What it opens is in the thread's table: keep it there.
    pub fn run(self, job: impl FnOnce(&Runtime) + Send + 'static) -> Ended {
        // A send fails only if the thread is gone already; `Ended` then resolves at once.
        let _ = self.orders.send(Order::Run(Box::new(job)));
        Ended(self.ended)
    }

    /// Opens `bind`'s listener on the thread (its runtime entered, so in the thread's table),
    /// waits until it is bound, then leaves `serve` running there with it. Returns the bind's
    /// error, or the handle that resolves once `serve` has returned and the runtime is dropped.
    pub fn serve<L: 'static>(
        self,
        bind: impl FnOnce() -> std::io::Result<L> + Send + 'static,
        serve: impl FnOnce(&Runtime, L) + Send + 'static,
    ) -> std::io::Result<Ended> {
        let (bound_tx, bound) = mpsc::channel();
        let ended = self.run(move |rt| {
            let listener = {
                let _entered = rt.enter();
                bind()
            };
            match listener {
                Ok(l) => {
                    let _ = bound_tx.send(Ok(()));
                    serve(rt, l);
                }
                Err(e) => drop(bound_tx.send(Err(e))),
            }
        });
        bound
            .recv()
            .map_err(|_| std::io::Error::other("a detached thread ended before binding"))??;
        Ok(ended)
    }
}

/// Starts `count` threads named `{name}-{i}`; each builds a current-thread runtime and, once all
/// of them have, detaches its table and waits for its job. Blocks until every one has detached,
/// or returns the first error (the threads started so far then end). Linux only; elsewhere
/// `ErrorKind::Unsupported`.
pub fn detached_runtimes(count: usize, name: &str) -> std::io::Result<Vec<DetachedRuntime>> {
    let (report, reports) = mpsc::channel::<std::io::Result<()>>();
    let mut threads = Vec::with_capacity(count);
    let next_report = || {
        reports
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("a starting thread ended early")))
    };
    for i in 0..count {
        let (orders, inbox) = mpsc::channel::<Order>();
        let (ended_tx, ended) = oneshot::channel();
        let report = report.clone();
        std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return drop(report.send(Err(e))),
            };
            let _ = report.send(Ok(()));
            if !matches!(inbox.recv(), Ok(Order::Detach)) {
                return;
            }
            let detached = detach();
            let failed = detached.is_err();
            let _ = report.send(detached);
            if failed {
                return;
            }
            if let Ok(Order::Run(job)) = inbox.recv() {
                job(&runtime);
            }
            drop(runtime);
            drop(ended_tx);
        })?;
        next_report()?;
        threads.push(DetachedRuntime { orders, ended });
    }
    // Every runtime's wake-up descriptor is open now: each table copied from here has them all.
    for t in &threads {
        let _ = t.orders.send(Order::Detach);
    }
    for _ in 0..count {
        next_report()?;
    }
    Ok(threads)
}

/// Gives the calling thread a table of its own (a copy of the one it shared: descriptors open
/// now stay valid in both). Linux only; elsewhere `ErrorKind::Unsupported`.
pub fn detach() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: unshare only changes which table this thread's descriptors live in.
        if unsafe { libc::unshare(libc::CLONE_FILES) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "a file-descriptor table per thread needs Linux (unshare(CLONE_FILES))",
        ))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::fd::AsRawFd;

    fn fd_is_open(fd: i32) -> bool {
        // SAFETY: F_GETFD only asks about the number; it does not touch any file.
        unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
    }

    #[test]
    fn a_detached_thread_numbers_its_descriptors_in_its_own_table() {
        // Below any soft limit (1024 is the smallest common one), above what a test opens.
        const HIGH: i32 = 1000;
        assert!(!fd_is_open(HIGH));
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = socket.as_raw_fd();
        let (kept_shared, own_open) = std::thread::spawn(move || {
            super::detach().unwrap();
            let kept = fd_is_open(fd);
            // SAFETY: dup2 onto a number this (detached) thread's table does not use.
            let got = unsafe { libc::dup2(fd, HIGH) };
            (kept, got == HIGH && fd_is_open(HIGH))
        })
        .join()
        .unwrap();
        assert!(kept_shared, "the copy keeps what was open before");
        assert!(own_open, "the detached thread opened {HIGH} in its table");
        assert!(!fd_is_open(HIGH), "{HIGH} was never opened in the shared table");
        assert!(fd_is_open(fd));
    }
}
