//! Socket units that hand a service its sockets: `ListenStream=`/`ListenDatagram=` and their
//! options become the program's `sockets`.

use std::net::SocketAddr;
use std::path::Path;

use stead_config::{Listen, SocketSpec};

use crate::import::toml_str;
use crate::unit::Unit;

/// The directives of a socket unit the import maps (or, for `Accept=yes`, refuses with a
/// note); every other one is listed as not mapped, by name.
pub const SOCKET_MAPPED: &[(&str, &str)] = &[
    ("Socket", "ListenStream"),
    ("Socket", "ListenDatagram"),
    ("Socket", "FileDescriptorName"),
    ("Socket", "Backlog"),
    ("Socket", "SocketMode"),
    ("Socket", "SocketUser"),
    ("Socket", "SocketGroup"),
    ("Socket", "BindIPv6Only"),
    ("Socket", "Service"),
    ("Socket", "Accept"),
    ("Socket", "RemoveOnStop"),
    // Informational.
    ("Unit", "Description"),
    ("Unit", "Documentation"),
    ("Install", "WantedBy"),
];

/// The largest backlog stead takes.
const MAX_BACKLOG: u64 = 1_048_576;

/// A socket unit, read.
#[derive(Debug, Clone)]
pub(crate) struct SocketUnit {
    /// Its file name (`web.socket`).
    pub file: String,
    /// `Service=`: the service it activates, when not the one of its own name.
    pub service: Option<String>,
    /// `Accept=yes`: a service instance per connection.
    pub accept: bool,
    /// Its sockets, as `sockets` would hold them.
    pub specs: Vec<SocketSpec>,
    /// What could not be mapped, each naming the file.
    pub notes: Vec<String>,
}

impl SocketUnit {
    /// Reads a socket unit file.
    pub(crate) fn read(path: &Path) -> Result<SocketUnit, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let unit =
            Unit::parse(&text).map_err(|(line, e)| format!("{}:{line}: {e}", path.display()))?;
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(SocketUnit::from_unit(&file, &unit))
    }

    /// The socket unit `file` holds.
    pub(crate) fn from_unit(file: &str, unit: &Unit) -> SocketUnit {
        let mut notes: Vec<String> = Vec::new();
        let mut note = |what: String| notes.push(format!("{file}: {what}"));
        let mut listens: Vec<(bool, String)> = Vec::new();
        // Without FileDescriptorName=, systemd names the descriptors after the unit.
        let mut name = file.to_string();
        let mut backlog = 4096;
        let mut mode = 0o666;
        let mut owner = None;
        let mut group = None;
        let mut ipv6_only = None;
        let mut service = None;
        let mut accept = false;
        let mut protocol = None;
        for (section, key, value) in unit.entries() {
            let v =
                || specifiers(value).map_err(|why| format!("[{section}] {key}={value} ({why})"));
            match (section, key) {
                ("Socket", "ListenStream" | "ListenDatagram") if value.is_empty() => {
                    listens.clear();
                }
                ("Socket", "ListenStream" | "ListenDatagram") => match v() {
                    Ok(v) => {
                        if value.replace("%%", "").contains("%t") {
                            note(format!(
                                "[Socket] {key}={value} (%t read as /run, the system manager's runtime directory; a user unit's is $XDG_RUNTIME_DIR: check the path)"
                            ));
                        }
                        listens.push((key == "ListenDatagram", v));
                    }
                    Err(e) => note(e),
                },
                ("Socket", "FileDescriptorName") => match v() {
                    Ok(v) => match stead_config::socket_name_problem(&v) {
                        None => name = v,
                        Some(why) => note(format!("[Socket] {key}={value} ({why})")),
                    },
                    Err(e) => note(e),
                },
                ("Socket", "Backlog") => match value.parse::<u64>() {
                    Ok(n) => {
                        let kept = n.clamp(1, MAX_BACKLOG);
                        if kept != n {
                            note(format!(
                                "[Socket] Backlog={value} (stead takes 1 to {MAX_BACKLOG}; the kernel caps both at net.core.somaxconn): imported as {kept}"
                            ));
                        }
                        backlog = kept as u32;
                    }
                    Err(_) => note(format!("[Socket] Backlog={value} (not a number)")),
                },
                ("Socket", "SocketMode") => match u32::from_str_radix(value, 8) {
                    Ok(m) if m <= 0o777 => mode = m,
                    _ => note(format!(
                        "[Socket] SocketMode={value} (stead takes a mode from 0000 to 0777)"
                    )),
                },
                ("Socket", "SocketUser") => match v() {
                    Ok(v) => owner = Some(v),
                    Err(e) => note(e),
                },
                ("Socket", "SocketGroup") => match v() {
                    Ok(v) => group = Some(v),
                    Err(e) => note(e),
                },
                ("Socket", "BindIPv6Only") => match value {
                    "default" => ipv6_only = None,
                    "both" | "no" | "false" | "off" | "0" => ipv6_only = Some(false),
                    "ipv6-only" | "yes" | "true" | "on" | "1" => ipv6_only = Some(true),
                    _ => note(format!(
                        "[Socket] BindIPv6Only={value} (not default, both or ipv6-only)"
                    )),
                },
                ("Socket", "Service") => service = Some(value.to_string()),
                ("Socket", "Accept") => accept = matches!(value, "yes" | "true" | "on" | "1"),
                ("Socket", "RemoveOnStop") => {
                    if !matches!(value, "yes" | "true" | "on" | "1") {
                        note(format!(
                            "[Socket] RemoveOnStop={value} (stead removes the socket file it made when it lets the socket go)"
                        ));
                    }
                }
                ("Socket", "SocketProtocol") => protocol = Some(value.to_string()),
                ("Unit", "Description" | "Documentation") | ("Install", "WantedBy") => {}
                (s, k) => note(format!("[{s}] {k}={value}")),
            }
        }
        let mut specs = Vec::new();
        if let Some(p) = &protocol {
            if !listens.is_empty() {
                note(format!(
                    "[Socket] SocketProtocol={p} (stead holds TCP, UDP and unix stream sockets): its sockets were left out"
                ));
            }
            listens.clear();
        }
        for (datagram, text) in listens {
            let kind = if datagram {
                "ListenDatagram"
            } else {
                "ListenStream"
            };
            let listen = match listen(datagram, &text) {
                Ok(l) => l,
                Err(why) => {
                    note(format!("[Socket] {kind}={text} ({why}): left out"));
                    continue;
                }
            };
            let mut spec = SocketSpec::new(listen, &name);
            // Each option where it applies, as stead's parser takes them.
            if spec.listen.is_stream() {
                spec.backlog = backlog;
            }
            if let Listen::Tcp(a) | Listen::Udp(a) = &spec.listen
                && a.is_ipv6()
            {
                spec.ipv6_only = ipv6_only;
            }
            if matches!(spec.listen, Listen::Unix(_)) {
                spec.mode = mode;
                spec.owner.clone_from(&owner);
                spec.group.clone_from(&group);
            }
            specs.push(spec);
        }
        SocketUnit {
            file: file.to_string(),
            service,
            accept,
            specs,
            notes,
        }
    }
}

/// A socket as an item of `sockets` for `program`: the address alone when every setting is
/// stead's default, else an inline table of what is not.
pub(crate) fn item(spec: &SocketSpec, program: &str) -> String {
    let listen = toml_str(&spec.listen.to_string());
    let mut keys: Vec<(String, String)> = Vec::new();
    if spec.name != program {
        keys.push(("name".into(), toml_str(&spec.name)));
    }
    if spec.listen.is_stream() && spec.backlog != 4096 {
        keys.push(("backlog".into(), spec.backlog.to_string()));
    }
    if matches!(spec.listen, Listen::Unix(_)) {
        if spec.mode != 0o666 {
            keys.push(("mode".into(), format!("0o{:o}", spec.mode)));
        }
        if let Some(o) = &spec.owner {
            keys.push(("owner".into(), toml_str(o)));
        }
        if let Some(g) = &spec.group {
            keys.push(("group".into(), toml_str(g)));
        }
    }
    if let (Listen::Tcp(a) | Listen::Udp(a), Some(only)) = (&spec.listen, spec.ipv6_only)
        && a.is_ipv6()
    {
        keys.push(("ipv6_only".into(), only.to_string()));
    }
    if keys.is_empty() {
        return listen;
    }
    let rest: Vec<String> = keys.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!("{{ listen = {listen}, {} }}", rest.join(", "))
}

/// A value with its specifiers resolved: `%%` is `%`, `%t` the system manager's runtime
/// directory (`/run`); any other is an error naming it.
fn specifiers(value: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('t') => out.push_str("/run"),
            Some(s) => {
                return Err(format!(
                    "the specifier %{s} cannot be resolved here: write its value"
                ));
            }
            None => return Err("a lone % at the end".to_string()),
        }
    }
    Ok(out)
}

/// An address of `ListenStream=` (`datagram`: `ListenDatagram=`) as stead's: a port alone
/// (IPv6 `[::]`, and IPv4 too unless `BindIPv6Only=ipv6-only`), `IP:PORT`, `[IPv6]:PORT`
/// with an optional numeric scope after the port, or an absolute path (a unix stream socket).
fn listen(datagram: bool, text: &str) -> Result<Listen, String> {
    if text.starts_with('/') {
        if datagram {
            return Err("a unix datagram socket: stead holds unix stream sockets only".into());
        }
        return Listen::parse(&format!("unix:{text}"), Path::new("/"));
    }
    if text.starts_with('@') {
        return Err(
            "an abstract unix socket: stead holds unix sockets with a path only; give one, like /run/app.sock"
                .into(),
        );
    }
    if text.starts_with("vsock:") {
        return Err("an AF_VSOCK socket: stead holds TCP, UDP and unix sockets".into());
    }
    let addr: SocketAddr = if let Ok(port) = text.parse::<u16>() {
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port))
    } else {
        // systemd writes an IPv6 scope after the port (`[fe80::1]:80%2`), Rust in the brackets.
        let rust = match text.rsplit_once('%') {
            Some((addr, scope)) if addr.starts_with('[') && addr.contains("]:") => {
                if scope.parse::<u32>().is_err() {
                    return Err(format!(
                        "the interface scope `{scope}`: stead takes an interface's number (`ip link` shows it), not its name"
                    ));
                }
                let (ip, port) = addr.rsplit_once("]:").unwrap_or_default();
                format!("{ip}%{scope}]:{port}")
            }
            _ => text.to_string(),
        };
        rust.parse().map_err(|_| {
            "not an address stead can hold: a port, IP:PORT, [IPv6]:PORT or an absolute path"
                .to_string()
        })?
    };
    Ok(if datagram {
        Listen::Udp(addr)
    } else {
        Listen::Tcp(addr)
    })
}

/// The `sockets = [...]` value of `items`.
pub(crate) fn array(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> SocketUnit {
        SocketUnit::from_unit("web.socket", &Unit::parse(text).unwrap())
    }

    #[test]
    fn every_form_of_listen_stream_reads_as_stead_writes_it() {
        for (text, want) in [
            ("8080", "tcp://[::]:8080"),
            ("0.0.0.0:80", "tcp://0.0.0.0:80"),
            ("[::1]:443", "tcp://[::1]:443"),
            ("[fe80::1]:80%2", "tcp://[fe80::1%2]:80"),
            ("/run/web.sock", "unix:/run/web.sock"),
        ] {
            assert_eq!(listen(false, text).unwrap().to_string(), want, "{text}");
        }
        assert_eq!(listen(true, "53").unwrap().to_string(), "udp://[::]:53");
        for (datagram, text, why) in [
            (false, "@abstract", "abstract"),
            (true, "/run/log.sock", "datagram"),
            (false, "[fe80::1]:80%eth0", "number"),
            (false, "localhost:80", "not an address"),
            (false, "vsock:2:80", "AF_VSOCK"),
        ] {
            let e = listen(datagram, text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn options_apply_where_stead_has_them_and_the_rest_is_noted() {
        let u = read(
            "[Unit]\nDescription=x\n[Socket]\nListenStream=%t/web/admin.sock\nListenStream=8080\n\
             ListenDatagram=0.0.0.0:53\nFileDescriptorName=admin\nBacklog=128\nSocketMode=0660\n\
             SocketUser=www-data\nBindIPv6Only=ipv6-only\nFreeBind=yes\nListenStream=@hidden\n\
             [Install]\nWantedBy=sockets.target\n",
        );
        let items: Vec<String> = u.specs.iter().map(|s| item(s, "web")).collect();
        assert_eq!(
            items,
            [
                "{ listen = \"unix:/run/web/admin.sock\", name = \"admin\", backlog = 128, mode = 0o660, owner = \"www-data\" }",
                "{ listen = \"tcp://[::]:8080\", name = \"admin\", backlog = 128, ipv6_only = true }",
                "{ listen = \"udp://0.0.0.0:53\", name = \"admin\" }",
            ]
        );
        assert_eq!(u.notes.len(), 3, "{:?}", u.notes);
        assert!(u.notes[0].contains("%t read as /run"));
        assert!(u.notes[1].contains("web.socket: [Socket] FreeBind=yes"));
        assert!(u.notes[2].contains("ListenStream=@hidden (an abstract unix socket"));
        // Without FileDescriptorName=, systemd names the descriptors after the unit.
        let u = read("[Socket]\nListenStream=8080\n");
        assert_eq!(
            item(&u.specs[0], "web"),
            "{ listen = \"tcp://[::]:8080\", name = \"web.socket\" }"
        );
        let u = read("[Socket]\nListenStream=8080\nFileDescriptorName=web\n");
        assert_eq!(item(&u.specs[0], "web"), "\"tcp://[::]:8080\"");
    }
}
