//! Applying plans on Linux: systemd (system and `--user`) and `OpenRC`. The other backends can
//! only be previewed here.

use std::path::Path;

use crate::backend::{openrc::apply as apply_openrc, systemd::apply as apply_systemd};
use crate::{Backend, ManagerError, NativeStatus, Plan, ServiceSpec};

pub(crate) fn install(plan: &Plan, spec: &ServiceSpec, force: bool) -> Result<(), ManagerError> {
    match plan.backend {
        Backend::Systemd | Backend::SystemdUser => apply_systemd::install(plan, spec, force),
        Backend::Openrc => apply_openrc::install(plan, spec, force),
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
        Backend::Systemd | Backend::SystemdUser => {
            apply_systemd::uninstall(name, backend, home, purge)
        }
        Backend::Openrc => apply_openrc::uninstall(name, purge),
        b => Err(ManagerError::NotHere(b.as_str())),
    }
}

pub(crate) fn status(name: &str, backend: Backend) -> Result<NativeStatus, ManagerError> {
    match backend {
        Backend::Systemd | Backend::SystemdUser => apply_systemd::status(name, backend),
        Backend::Openrc => apply_openrc::status(name),
        b => Err(ManagerError::NotHere(b.as_str())),
    }
}

pub(crate) fn control(
    name: &str,
    backend: Backend,
    verb: crate::Control,
) -> Result<(), ManagerError> {
    match backend {
        Backend::Systemd | Backend::SystemdUser => apply_systemd::control(name, backend, verb),
        Backend::Openrc => apply_openrc::control(name, verb),
        b => Err(ManagerError::NotHere(b.as_str())),
    }
}
