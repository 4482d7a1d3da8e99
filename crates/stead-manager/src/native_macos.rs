//! Applying plans on macOS: launchd. The other backends can only be previewed here.

use std::path::Path;

use crate::backend::launchd::apply as apply_launchd;
use crate::{Backend, ManagerError, NativeStatus, Plan, ServiceSpec};

pub(crate) fn install(plan: &Plan, spec: &ServiceSpec, force: bool) -> Result<(), ManagerError> {
    match plan.backend {
        Backend::Launchd => apply_launchd::install(plan, spec, force),
        b => Err(ManagerError::NotHere(b.as_str())),
    }
}

pub(crate) fn uninstall(
    name: &str,
    backend: Backend,
    home: &Path,
    purge: bool,
) -> Result<(), ManagerError> {
    match backend {
        Backend::Launchd => apply_launchd::uninstall(name, home, purge),
        b => Err(ManagerError::NotHere(b.as_str())),
    }
}

pub(crate) fn status(name: &str, backend: Backend) -> Result<NativeStatus, ManagerError> {
    match backend {
        Backend::Launchd => Ok(apply_launchd::status(name)),
        b => Err(ManagerError::NotHere(b.as_str())),
    }
}

pub(crate) fn control(
    name: &str,
    backend: Backend,
    verb: crate::Control,
) -> Result<(), ManagerError> {
    match backend {
        Backend::Launchd => apply_launchd::control(name, verb),
        b => Err(ManagerError::NotHere(b.as_str())),
    }
}
