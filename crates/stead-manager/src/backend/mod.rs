//! One module per native manager, each a directory:
//!
//! - `mod.rs`: the pure renderer (the unit, plist, script, SCM parameters or task XML) and
//!   that manager's arm of [`crate::plan`], tested on every OS and shown by `--dry-run`;
//! - `apply.rs`: the steps that apply a plan, remove it and ask the manager, compiled only
//!   where the manager runs (`systemd` and `openrc` on Linux, `launchd` on macOS,
//!   `windows` and `task_scheduler` on Windows; the SCM steps also in tests, against a fake).
//!
//! `native_linux.rs`, `native_macos.rs` and `native_windows.rs` at the crate root pick the
//! backend's `apply` for [`crate::apply`], [`crate::uninstall`], [`crate::status`] and
//! [`crate::control`]; on other systems every backend can only be previewed.

pub mod launchd;
pub mod openrc;
pub mod systemd;
pub mod task_scheduler;
pub mod windows;
