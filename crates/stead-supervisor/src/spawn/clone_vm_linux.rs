//! Starting a child that shares the supervisor's memory until it execs (`clone3` with
//! `CLONE_VM | CLONE_VFORK`, and `CLONE_INTO_CGROUP` when it has a cgroup), the way
//! `posix_spawn` in glibc and musl, and Go's `os/exec`, start theirs.
//!
//! A plain `fork` copies the page tables of the whole supervisor, the child then takes a
//! copy-on-write fault for each page it touches before `exec`, every page the supervisor
//! writes meanwhile is copied too (with a TLB shootdown to the cores running its other
//! threads), and `exec` tears the copy down again. None of that happens here: the child runs
//! on a small stack of its own in the same memory, and the calling thread waits (only that
//! thread) until the child has exec'd or exited. `bench/supervisors.py` measures it in the
//! restart latency.
//!
//! Written with inline assembly, on `x86_64`: the child of a `clone3` with a new stack starts
//! on that stack with no frame to return to, so the instruction after the system call must
//! be the child's entry. No crate offers `clone3` with a stack and a cgroup (the `libc`
//! wrappers' `clone` knows no `CLONE_INTO_CGROUP`). On other architectures (`aarch64`
//! included, which no test here can run) this reports "not available" and the caller forks.
//!
//! Rules for the child, which shares every byte with the parent:
//! - it runs only async-signal-safe system calls on memory prepared before the clone, and
//!   changes nothing the parent reads afterwards (except what it is handed to fill in);
//! - the parent blocks every signal around the clone, so that no handler of the supervisor's
//!   runs in the child and takes a signal meant for the child as its own; the child sets
//!   every handled signal back to its default action before it unblocks them
//!   ([`reset_handlers`]);
//! - credentials change with raw system calls (libc's `setuid` would coordinate the
//!   supervisor's threads: [`set_credentials`]).

use std::cell::OnceCell;
use std::ffi::c_void;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;

use super::cgroup::{CLONE_INTO_CGROUP, CloneArgs, NO_CLONE_INTO};

/// Set once `clone3` is known not to exist here (before Linux 5.3, or filtered): every later
/// start forks.
static NO_CLONE3: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Bytes of stack for a child before it execs: it calls a dozen system calls and never
/// allocates, so a few KiB are used; the rest is margin.
const STACK: usize = 64 * 1024;

/// The child's stack: one per thread (the thread waits for its child, so it never needs two
/// at once), mapped at its first spawn with a guard page below, so that an overflow faults
/// instead of writing over the supervisor's memory.
struct ChildStack {
    base: *mut u8,
    len: usize,
    guard: usize,
}

impl ChildStack {
    fn map() -> Option<ChildStack> {
        // SAFETY: sysconf has no memory arguments.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
        let len = STACK + page;
        // SAFETY: a fresh anonymous private mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: the lowest page of the mapping made above.
        if unsafe { libc::mprotect(base, page, libc::PROT_NONE) } != 0 {
            // SAFETY: unmapping what was mapped above.
            unsafe { libc::munmap(base, len) };
            return None;
        }
        Some(ChildStack {
            base: base.cast(),
            len,
            guard: page,
        })
    }

    /// The lowest usable address and the usable size (the stack grows down from its end).
    fn usable(&self) -> (u64, u64) {
        (
            self.base as u64 + self.guard as u64,
            (self.len - self.guard) as u64,
        )
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, used by no child any more (a thread's children
        // have exec'd or exited before it can end).
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

thread_local! {
    static CHILD_STACK: OnceCell<Option<ChildStack>> = const { OnceCell::new() };
}

/// Starts `entry(arg)` as a child process that shares this process's memory, born in the
/// cgroup `cgroup` when one is given, and returns its pid once it has exec'd or exited
/// (`entry` must do one or the other). `Err(None)`: not available here (another
/// architecture, a kernel without `clone3` or without `CLONE_INTO_CGROUP`, a filter that
/// refuses it, no memory for the stack): the caller forks instead. `Err(Some(e))` is a
/// failure `fork` would have too (`EAGAIN`, `ENOMEM`).
///
/// # Safety
///
/// `entry` must follow this module's rules for the child, with `arg` valid for it until it
/// execs or exits.
pub(crate) unsafe fn spawn(
    cgroup: Option<RawFd>,
    entry: unsafe extern "C" fn(*mut c_void) -> !,
    arg: *mut c_void,
) -> Result<libc::pid_t, Option<io::Error>> {
    if !cfg!(target_arch = "x86_64")
        || NO_CLONE3.load(Ordering::Relaxed)
        || (cgroup.is_some() && NO_CLONE_INTO.load(Ordering::Relaxed))
    {
        return Err(None);
    }
    CHILD_STACK.with(|s| {
        let Some(stack) = s.get_or_init(ChildStack::map) else {
            return Err(None);
        };
        let (stack, stack_size) = stack.usable();
        let mut args = CloneArgs {
            flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64,
            exit_signal: libc::SIGCHLD as u64,
            stack,
            stack_size,
            ..CloneArgs::default()
        };
        if let Some(dir) = cgroup {
            args.flags |= CLONE_INTO_CGROUP;
            args.cgroup = dir as u64;
        }
        // Every signal blocked while the child shares our memory and handlers' targets.
        // SAFETY: sigset_t is plain data; pthread_sigmask writes into live locals.
        let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        unsafe {
            libc::sigfillset(&raw mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &raw const all, &raw mut old);
        }
        // SAFETY: the kernel reads `args` (live); the caller upholds the child's rules.
        let pid = unsafe { clone3_on_stack(&raw mut args, entry, arg) };
        let err = (pid < 0).then(|| io::Error::from_raw_os_error(-pid as i32));
        // SAFETY: restoring the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &raw const old, std::ptr::null_mut()) };
        match err {
            None => Ok(pid as libc::pid_t),
            Some(e) => match e.raw_os_error() {
                Some(libc::EAGAIN | libc::ENOMEM) => Err(Some(e)),
                // No clone3 (before 5.3, or filtered), or one that knows no cgroup field
                // (5.3-5.6): forking is the way here from now on.
                Some(libc::ENOSYS) => {
                    NO_CLONE3.store(true, Ordering::Relaxed);
                    Err(None)
                }
                Some(libc::E2BIG) if cgroup.is_some() => {
                    NO_CLONE_INTO.store(true, Ordering::Relaxed);
                    Err(None)
                }
                _ => Err(None),
            },
        }
    })
}

/// The raw system call: returns the child's pid, or `-errno`. In the child, calls
/// `entry(arg)` on the new stack.
///
/// # Safety
///
/// As for [`spawn`], with `args` naming a stack that no one else uses.
#[cfg(target_arch = "x86_64")]
unsafe fn clone3_on_stack(
    args: *mut CloneArgs,
    entry: unsafe extern "C" fn(*mut c_void) -> !,
    arg: *mut c_void,
) -> i64 {
    let ret: i64;
    // SAFETY: `syscall` clobbers rcx and r11 and returns in rax; the child starts after it
    // with the parent's registers (r12, r13 hold entry and arg) on the new, 16-byte aligned
    // stack, where `call` leaves it aligned as the ABI wants, and never comes back.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") args,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") entry,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Never called: [`spawn`] reports "not available" on other architectures first.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn clone3_on_stack(
    _args: *mut CloneArgs,
    _entry: unsafe extern "C" fn(*mut c_void) -> !,
    _arg: *mut c_void,
) -> i64 {
    -i64::from(libc::ENOSYS)
}

/// In the child: every signal that has a handler (the supervisor's) goes back to its
/// default action, so that none of the supervisor's handlers can run in the child once it
/// unblocks signals. Ignored signals stay ignored, as across `exec`.
///
/// # Safety
///
/// Only in a child started by [`spawn`], before it unblocks signals.
pub(crate) unsafe fn reset_handlers() {
    // Every signal number Linux has (1 to 64).
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: sigaction with live locals; a signal libc reserves answers EINVAL and is
        // left alone (libc sends those to its own threads by thread id, never to us).
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &raw mut old) != 0 {
                continue;
            }
            if old.sa_sigaction == libc::SIG_DFL || old.sa_sigaction == libc::SIG_IGN {
                continue;
            }
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &raw const dfl, std::ptr::null_mut());
        }
    }
}

/// In the child: supplementary groups, group, user, each with the raw system call, which
/// changes this one process (libc's wrappers would make every thread of the supervisor
/// change too, through memory this child shares). Returns false on the first refusal.
///
/// # Safety
///
/// Only in a child before exec.
pub(crate) unsafe fn set_credentials(uid: u32, gid: u32, groups: &[libc::gid_t]) -> bool {
    // SAFETY: system calls with integer arguments and a live slice.
    unsafe {
        libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) == 0
            && libc::syscall(libc::SYS_setgid, gid) == 0
            && libc::syscall(libc::SYS_setuid, uid) == 0
    }
}
