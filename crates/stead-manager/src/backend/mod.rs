//! One module per native manager: a pure renderer (tested on every OS, shown by
//! `--dry-run`) and, where the manager runs here, the steps that apply it.

pub mod launchd;
pub mod openrc;
pub mod systemd;
pub mod task_scheduler;
pub mod windows;
