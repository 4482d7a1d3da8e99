//! `sockets = [...]` as socket units: systemd binds the sockets, as stead does, and hands them
//! to the program with the same protocol (`LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`,
//! descriptors from 3).
//!
//! `FileDescriptorName=`, `Backlog=`, `SocketMode=`, `SocketUser=`/`SocketGroup=` and
//! `BindIPv6Only=` hold for every socket of a unit, so a program's sockets take one unit for
//! each set of them (named by [`unit_names`]). The
//! service names them in `Sockets=` (every instance of a template is handed the same sockets,
//! as under stead) and `Requires=` them (a socket that cannot be had fails the start, as under
//! stead). A socket unit activates one service (`Service=`): the program's, or instance 0 of
//! its template.

use std::collections::HashSet;
use std::fmt::Write;
use std::net::SocketAddr;

use stead_config::{Listen, SocketSpec};

use crate::unit::{Unit, escape_value};
use crate::{File, Program, normalize};

/// Sockets that one socket unit can hold: the same name, and the same options where they
/// apply (the backlog to stream sockets, mode and owner to unix sockets, `ipv6_only` to IPv6
/// addresses).
pub(super) struct Group<'a> {
    name: &'a str,
    backlog: Option<u32>,
    unix: Option<(u32, Option<&'a str>, Option<&'a str>)>,
    v6only: Option<V6>,
    specs: Vec<&'a SocketSpec>,
}

impl<'a> Group<'a> {
    fn new(s: &'a SocketSpec) -> Group<'a> {
        let mut g = Group {
            name: &s.name,
            backlog: None,
            unix: None,
            v6only: None,
            specs: Vec::new(),
        };
        g.add(s);
        g
    }

    fn fits(&self, s: &SocketSpec) -> bool {
        self.name == s.name
            && (!s.listen.is_stream() || self.backlog.is_none_or(|b| b == s.backlog))
            && unix_options(s).is_none_or(|u| self.unix.is_none_or(|g| g == u))
            && v6only(s).is_none_or(|v| self.v6only.is_none_or(|g| g == v))
    }

    fn add(&mut self, s: &'a SocketSpec) {
        if s.listen.is_stream() {
            self.backlog = Some(s.backlog);
        }
        if let Some(u) = unix_options(s) {
            self.unix = Some(u);
        }
        if let Some(v) = v6only(s) {
            self.v6only = Some(v);
        }
        self.specs.push(s);
    }
}

fn unix_options(s: &SocketSpec) -> Option<(u32, Option<&str>, Option<&str>)> {
    matches!(s.listen, Listen::Unix(_)).then(|| (s.mode, s.owner.as_deref(), s.group.as_deref()))
}

/// `ipv6_only` of an IPv6 socket.
#[derive(Clone, Copy, PartialEq, Eq)]
enum V6 {
    /// The system's default (`/proc/sys/net/ipv6/bindv6only`).
    System,
    /// IPv4 too.
    Both,
    /// IPv6 only.
    Only,
}

fn v6only(s: &SocketSpec) -> Option<V6> {
    match s.listen {
        Listen::Tcp(a) | Listen::Udp(a) if a.is_ipv6() => Some(match s.ipv6_only {
            None => V6::System,
            Some(false) => V6::Both,
            Some(true) => V6::Only,
        }),
        _ => None,
    }
}

/// The program's sockets that a unit file can hold (the others noted), in as few socket units
/// as their names and options allow, in the order of `sockets`.
pub(super) fn groups<'a>(p: &mut Program<'a>) -> Vec<Group<'a>> {
    let cfg = p.cfg;
    let mut out: Vec<Group<'a>> = Vec::new();
    for s in &cfg.sockets {
        if let Listen::Unix(path) = &s.listen {
            let path = normalize(path).display().to_string();
            if verbatim(&path).is_none() || !path.starts_with('/') {
                p.drop(format!(
                    "`{}` in `sockets`: a unit file cannot hold this path (ListenStream= takes an absolute path without control characters, a trailing `\\` or spaces at its ends); left out: choose another path",
                    s.listen
                ));
                continue;
            }
        }
        match out.iter_mut().find(|g| g.fits(s)) {
            Some(g) => g.add(s),
            None => out.push(Group::new(s)),
        }
    }
    out
}

/// The unit names of every program's socket units (`groups[i]` are program `names[i]`'s):
/// `NAME.socket` for a program's only unit, or the first of its sockets named as the program
/// (the default); a socket named `X.socket` (systemd's name for the descriptors of a unit
/// without `FileDescriptorName=`, which an import keeps) in `X.socket`; `NAME-SOCKETNAME.socket`
/// for the others, with `-2`, `-3`, … when another unit has that name already.
pub(super) fn unit_names(names: &[&str], groups: &[Vec<Group<'_>>]) -> Vec<Vec<String>> {
    // The unit of the program's own name first: no other can take it.
    let own: Vec<Option<usize>> = names
        .iter()
        .zip(groups)
        .map(|(n, g)| {
            if g.len() == 1 {
                Some(0)
            } else {
                g.iter().position(|g| g.name == *n)
            }
        })
        .collect();
    let mut taken: HashSet<String> = names
        .iter()
        .zip(&own)
        .filter(|(_, o)| o.is_some())
        .map(|(n, _)| format!("{n}.socket"))
        .collect();
    names
        .iter()
        .zip(groups)
        .zip(&own)
        .map(|((program, groups), own)| {
            (0..groups.len())
                .map(|i| {
                    if *own == Some(i) {
                        return format!("{program}.socket");
                    }
                    // A name systemd gave (`X.socket`, a unit's own) names its unit again.
                    let name = groups[i].name;
                    if name
                        .strip_suffix(".socket")
                        .is_some_and(|stem| !stem.is_empty() && stem.chars().all(unit_char))
                        && taken.insert(name.to_string())
                    {
                        return name.to_string();
                    }
                    // Unit names take letters, digits, `_`, `.` and `-` (and `:` and `\`,
                    // which not every file system does).
                    let name: String = name
                        .strip_suffix(".socket")
                        .unwrap_or(name)
                        .chars()
                        .map(|c| if unit_char(c) { c } else { '_' })
                        .collect();
                    let base = format!("{program}-{name}");
                    let mut candidate = format!("{base}.socket");
                    let mut n = 2;
                    while taken.contains(&candidate) {
                        candidate = format!("{base}-{n}.socket");
                        n += 1;
                    }
                    taken.insert(candidate.clone());
                    candidate
                })
                .collect()
        })
        .collect()
}

/// A character of a unit's name that every file system takes.
fn unit_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// A TCP or UDP address as `ListenStream=`/`ListenDatagram=` write it: an IPv6 scope after
/// the port (`[fe80::1]:80%2`).
fn address(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V6(v6) if v6.scope_id() != 0 => {
            format!("[{}]:{}%{}", v6.ip(), v6.port(), v6.scope_id())
        }
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
        SocketAddr::V4(v4) => v4.to_string(),
    }
}

/// A value systemd takes as written but for its specifiers: `%` doubled. `None` for what a
/// unit file cannot hold (control characters, a trailing `\`, which continues the line,
/// whitespace at either end, which is trimmed).
fn verbatim(s: &str) -> Option<String> {
    let unwritable =
        s.chars().any(char::is_control) || s.ends_with('\\') || s.trim() != s || s.is_empty();
    (!unwritable).then(|| s.replace('%', "%%"))
}

/// What a socket unit needs of the program around it.
pub(super) struct Context<'a> {
    /// The unit's name (`web.socket`).
    pub unit_name: &'a str,
    /// The service it activates on traffic (`web.service`, `pool@0.service`).
    pub activates: &'a str,
    /// The template every instance of which is handed the sockets, if the program is one.
    pub template: Option<&'a str>,
    /// The `.target` of the export.
    pub target: &'a str,
    /// The file's first line.
    pub header: &'a str,
}

/// The socket unit of `group`, and notes on `p` for what does not carry over.
pub(super) fn socket_unit(p: &mut Program<'_>, group: &Group<'_>, cx: &Context<'_>) -> File {
    let mut u = Unit::default();
    u.set(
        "Unit",
        "Description",
        escape_value(&format!("{} sockets (stead program)", p.name)),
    );
    u.set("Unit", "PartOf", cx.target);
    for s in &group.specs {
        let (key, value) = match &s.listen {
            Listen::Tcp(a) => ("ListenStream", address(a)),
            Listen::Udp(a) => ("ListenDatagram", address(a)),
            // `groups` left out the paths a unit file cannot hold.
            Listen::Unix(path) => (
                "ListenStream",
                verbatim(&normalize(path).display().to_string()).unwrap_or_default(),
            ),
        };
        u.set("Socket", key, value);
        if !s.reuse_address {
            p.drop(format!(
                "`reuse_address = false` on `{}`: systemd sets SO_REUSEADDR on every socket it makes and has no setting to leave it off; check that the program does not need it off",
                s.listen
            ));
        }
        if let (Listen::Unix(_), Some(owner), None) = (&s.listen, &s.owner, &s.group) {
            p.drop(format!(
                "`owner = \"{owner}\"` without `group` on `{}`: systemd gives the socket file the owner's primary group where stead keeps its own; set `group` to choose it",
                s.listen
            ));
        }
    }
    let name = verbatim(group.name).unwrap_or_else(|| {
        let mut fallback = group.name.trim_end_matches('\\').replace('%', "%%");
        if fallback.is_empty() {
            fallback = p.name.to_string();
        }
        p.drop(format!(
            "socket name `{}`: a unit file cannot end a value with `\\`; named `{fallback}`: rename the socket",
            group.name
        ));
        fallback
    });
    u.set("Socket", "FileDescriptorName", name);
    if let Some(backlog) = group.backlog {
        u.set("Socket", "Backlog", backlog.to_string());
    }
    if let Some((mode, owner, grp)) = group.unix {
        u.set("Socket", "SocketMode", format!("{mode:04o}"));
        if let Some(owner) = owner {
            u.set("Socket", "SocketUser", owner.replace('%', "%%"));
        }
        if let Some(grp) = grp {
            u.set("Socket", "SocketGroup", grp.replace('%', "%%"));
        }
        // stead removes the file it made when it lets the socket go.
        u.set("Socket", "RemoveOnStop", "yes");
    }
    match group.v6only {
        Some(V6::Both) => u.set("Socket", "BindIPv6Only", "both"),
        Some(V6::Only) => u.set("Socket", "BindIPv6Only", "ipv6-only"),
        Some(V6::System) | None => {}
    }
    u.set("Socket", "Service", cx.activates);
    u.set("Install", "WantedBy", cx.target);
    let mut text = cx.header.to_string();
    let program = p.name;
    let activates = cx.activates;
    if let Some(template) = cx.template {
        let _ = writeln!(
            text,
            "# [program.{program}] sockets: every instance of {template} is handed them (Sockets=), as under stead."
        );
        let _ = writeln!(
            text,
            "# Unlike under stead, traffic while no instance runs starts {activates} (socket activation);"
        );
        let _ = writeln!(text, "# the target starts every instance.");
    } else {
        let _ = writeln!(
            text,
            "# [program.{program}] sockets, handed to {activates} (Sockets=), as under stead."
        );
        let _ = writeln!(
            text,
            "# Unlike under stead, traffic while it is not running starts it (socket activation)."
        );
    }
    File {
        name: cx.unit_name.to_string(),
        text: text + &u.render(),
    }
}
