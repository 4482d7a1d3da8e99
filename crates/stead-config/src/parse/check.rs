//! `ready`, `health`, `limits`, `on_fatal`/`on_unhealthy`, the table form of `depends_on`,
//! and `[metrics]`.

use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Walker;
use crate::check::{
    CheckAction, HealthCheck, HealthProbe, Limits, MetricsSettings, Probe, ReadyCheck,
};

const PROBE_KINDS: &[&str] = &["notify", "tcp", "http", "exec", "log"];
const READY_KEYS: &[&str] = &[
    "notify", "tcp", "http", "exec", "log", "status", "timeout", "interval",
];
const HEALTH_KEYS: &[&str] = &[
    "tcp", "http", "exec", "watchdog", "log", "status", "max", "window", "interval", "timeout",
    "failures", "grace", "action",
];
const LIMIT_KEYS: &[&str] = &["max_memory", "max_cpu", "action"];
const METRICS_KEYS: &[&str] = &["listen", "sample", "token_file"];

/// `http://host:port/path` → (host:port, path); plain HTTP only.
pub fn split_http_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:80")
    } else {
        return None;
    };
    Some((authority, path.to_string()))
}

fn valid_tcp(addr: &str) -> bool {
    addr.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
}

impl Walker<'_, '_> {
    /// One probe key (`tcp = …`, `http = …`, …) of a ready or health table.
    fn probe(&mut self, key: &str, v: &Spanned<DeValue<'_>>, place: &str) -> Option<Probe> {
        match key {
            "notify" => {
                if self.boolean(v, "notify") != Some(true) {
                    return None;
                }
                if !cfg!(unix) {
                    self.c.error(
                        v.span(),
                        "`notify` readiness needs a Unix datagram socket: Unix only",
                        Some("use tcp, http, exec or log readiness on Windows".into()),
                    );
                }
                Some(Probe::Notify)
            }
            "tcp" => {
                let a = self.string(v, "tcp", "\"127.0.0.1:5432\"")?;
                if !valid_tcp(&a) {
                    self.c.error(
                        v.span(),
                        format!("`tcp` in {place} must be host:port, not \"{a}\""),
                        Some("for example: tcp = \"127.0.0.1:5432\"".into()),
                    );
                    return None;
                }
                Some(Probe::Tcp(a))
            }
            "http" => {
                let url = self.string(v, "http", "\"http://127.0.0.1:8080/healthz\"")?;
                if split_http_url(&url).is_none() {
                    self.c.error(
                        v.span(),
                        format!("`http` in {place} must be a plain http://host:port/path URL, not \"{url}\""),
                        Some("for https, use exec = [\"curl\", \"-fsS\", \"https://…\"]".into()),
                    );
                    return None;
                }
                Some(Probe::Http { url, status: None })
            }
            "exec" => {
                let DeValue::Array(a) = v.get_ref() else {
                    self.type_error(
                        v,
                        "exec",
                        "an array: the command and its arguments",
                        "[\"pg_isready\", \"-q\"]",
                    );
                    return None;
                };
                let argv: Vec<String> = a
                    .iter()
                    .filter_map(|i| self.string(i, "exec", "[\"pg_isready\", \"-q\"]"))
                    .collect();
                if argv.is_empty() {
                    self.c.error(
                        v.span(),
                        format!("`exec` in {place} is empty"),
                        Some("give a command: exec = [\"pg_isready\", \"-q\"]".into()),
                    );
                    return None;
                }
                Some(Probe::Exec(argv))
            }
            "log" => {
                let re = self.string(v, "log", "\"listening on\"")?;
                if let Err(e) = regex::Regex::new(&re) {
                    self.c.error(
                        v.span(),
                        format!("`log` in {place} is not a valid regular expression: {}", e.to_string().lines().last().unwrap_or("")),
                        Some("escape special characters with \\\\, e.g. log = \"listening on 0\\\\.0\\\\.0\\\\.0\"".into()),
                    );
                    return None;
                }
                Some(Probe::Log(re))
            }
            _ => None,
        }
    }

    /// `ready = "notify"` or `ready = { tcp = "…", timeout = "30s" }`.
    pub(super) fn ready(&mut self, v: &Spanned<DeValue<'_>>, name: &str) -> Option<ReadyCheck> {
        let place = format!("[program.{name}] ready");
        let mut check = ReadyCheck {
            probe: Probe::Notify,
            timeout: Duration::from_secs(60),
            interval: Duration::from_millis(250),
        };
        if let DeValue::String(s) = v.get_ref() {
            if s.as_ref() == "notify" {
                if !cfg!(unix) {
                    self.c.error(
                        v.span(),
                        "`notify` readiness is Unix only",
                        Some("use tcp, http, exec or log readiness on Windows".into()),
                    );
                }
                return Some(check);
            }
            self.c.error(
                v.span(),
                format!("unknown readiness \"{s}\""),
                Some("use \"notify\", or a table: ready = { tcp = \"127.0.0.1:8080\" } (also http, exec, log)".into()),
            );
            return None;
        }
        let t = self.table(v, &place)?;
        let mut probe = None;
        let mut status = None;
        for (key, val) in t {
            let k = key.get_ref().as_ref();
            match k {
                "timeout" => {
                    check.timeout = self
                        .timeout(val, "timeout", "\"30s\" or \"infinity\"")
                        .unwrap_or(check.timeout)
                }
                "interval" => {
                    check.interval = self
                        .duration(val, "interval", "\"250ms\"")
                        .unwrap_or(check.interval)
                        .max(Duration::from_millis(10))
                }
                "status" => {
                    status = self
                        .integer(val, "status", 100..600, "200")
                        .map(|n| n as u16)
                }
                k if PROBE_KINDS.contains(&k) => {
                    if probe.is_some() {
                        self.c.error(
                            key.span(),
                            format!("{place} has more than one probe"),
                            Some("keep one of notify, tcp, http, exec, log".into()),
                        );
                    } else {
                        probe = self.probe(k, val, &place).map(|p| (p, key.span()));
                    }
                }
                other => self.unknown(key, other, &place, READY_KEYS),
            }
        }
        let Some((mut p, _)) = probe else {
            self.c.error(v.span(), format!("{place} says nothing to check"), Some("add one of: notify = true, tcp = \"host:port\", http = \"http://…\", exec = [\"cmd\"], log = \"regex\"".into()));
            return None;
        };
        if let Probe::Http { status: s, .. } = &mut p {
            *s = status;
        }
        check.probe = p;
        Some(check)
    }

    /// `health = { http = "…", interval = "5s", failures = 3, … }`.
    #[allow(clippy::many_single_char_names)]
    pub(super) fn health(&mut self, v: &Spanned<DeValue<'_>>, name: &str) -> Option<HealthCheck> {
        let place = format!("[program.{name}] health");
        let t = self.table(v, &place)?;
        let mut check = HealthCheck {
            probe: HealthProbe::Watchdog(Duration::ZERO),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            failures: 3,
            grace: Duration::ZERO,
            action: CheckAction::Restart,
        };
        let mut probe: Option<HealthProbe> = None;
        let mut status = None;
        let mut max = None;
        let mut window = None;
        let mut many = false;
        for (key, val) in t {
            let k = key.get_ref().as_ref();
            let mut set = |w: &mut Self, p: Option<HealthProbe>| {
                if probe.is_some() {
                    many = true;
                    w.c.error(
                        key.span(),
                        format!("{place} has more than one check"),
                        Some("keep one of tcp, http, exec, watchdog, log".into()),
                    );
                } else {
                    probe = p;
                }
            };
            match k {
                "tcp" | "http" | "exec" => {
                    let p = self.probe(k, val, &place).map(HealthProbe::Probe);
                    set(self, p);
                }
                "log" => {
                    let p = self.probe(k, val, &place).map(|p| match p {
                        Probe::Log(pattern) => HealthProbe::LogRate {
                            pattern,
                            max: 0,
                            window: Duration::from_secs(60),
                        },
                        _ => unreachable!("log is a log probe"),
                    });
                    set(self, p);
                }
                "watchdog" => {
                    let d = self.duration(val, "watchdog", "\"10s\"");
                    if !cfg!(unix) {
                        self.c.error(
                            val.span(),
                            "the notify watchdog is Unix only",
                            Some("use an http, tcp or exec health check on Windows".into()),
                        );
                    }
                    set(self, d.map(HealthProbe::Watchdog));
                }
                "status" => {
                    status = self
                        .integer(val, "status", 100..600, "200")
                        .map(|n| n as u16)
                }
                "max" => {
                    max = self
                        .integer(val, "max", 0..1_000_000_000, "5")
                        .map(|n| n as u32)
                }
                "window" => window = self.duration(val, "window", "\"1m\""),
                "interval" => {
                    check.interval = self
                        .duration(val, "interval", "\"5s\"")
                        .unwrap_or(check.interval)
                        .max(Duration::from_millis(100))
                }
                "timeout" => {
                    check.timeout = self
                        .duration(val, "timeout", "\"2s\"")
                        .unwrap_or(check.timeout)
                }
                "failures" => {
                    check.failures = self.integer(val, "failures", 1..1001, "3").unwrap_or(3) as u32
                }
                "grace" => {
                    check.grace = self
                        .duration(val, "grace", "\"30s\"")
                        .unwrap_or(check.grace)
                }
                "action" => {
                    if let Some(a) = self.choice(val, "action", &["restart", "report"]) {
                        check.action = if a == "restart" {
                            CheckAction::Restart
                        } else {
                            CheckAction::Report
                        };
                    }
                }
                other => self.unknown(key, other, &place, HEALTH_KEYS),
            }
        }
        let Some(mut p) = probe else {
            if !many {
                self.c.error(v.span(), format!("{place} says nothing to check"), Some("add one of: http = \"http://…\", tcp = \"host:port\", exec = [\"cmd\"], watchdog = \"10s\", log = \"ERROR\"".into()));
            }
            return None;
        };
        match &mut p {
            HealthProbe::Probe(Probe::Http { status: s, .. }) => *s = status,
            HealthProbe::LogRate {
                max: m, window: w, ..
            } => {
                *m = max.unwrap_or(0);
                if let Some(win) = window {
                    *w = win;
                }
            }
            _ => {}
        }
        check.probe = p;
        Some(check)
    }

    /// `limits = { max_memory = "500MB", max_cpu = 90, action = "restart" }`.
    pub(super) fn limits(&mut self, v: &Spanned<DeValue<'_>>, name: &str) -> Option<Limits> {
        let place = format!("[program.{name}] limits");
        let t = self.table(v, &place)?;
        let mut l = Limits {
            max_memory: None,
            max_cpu: None,
            action: CheckAction::Restart,
        };
        for (key, val) in t {
            match key.get_ref().as_ref() {
                "max_memory" => l.max_memory = self.size(val, "max_memory", "\"500MB\""),
                "max_cpu" => l.max_cpu = self.float(val, "max_cpu", 1.0, 100_000.0, "90"),
                "action" => {
                    if let Some(a) = self.choice(val, "action", &["restart", "report"]) {
                        l.action = if a == "restart" {
                            CheckAction::Restart
                        } else {
                            CheckAction::Report
                        };
                    }
                }
                other => self.unknown(key, other, &place, LIMIT_KEYS),
            }
        }
        if self.host.is_some_and(|h| !h.resource_sampling())
            && (l.max_memory.is_some() || l.max_cpu.is_some())
        {
            // A limit nobody measures would never act: say so rather than look enforced.
            self.c.error(
                v.span(),
                "resource limits need resource sampling, which stead has on Linux, Windows and macOS only",
                Some("remove `limits` here, or enforce the limit another way on this OS".into()),
            );
        }
        Some(l)
    }

    /// `on_fatal = ["cmd", "arg"]`.
    pub(super) fn hook(&mut self, v: &Spanned<DeValue<'_>>, key: &str) -> Option<Vec<String>> {
        let example = "[\"/usr/local/bin/alert\", \"stead\"]";
        let DeValue::Array(a) = v.get_ref() else {
            self.type_error(v, key, "an array: the command and its arguments", example);
            return None;
        };
        let argv: Vec<String> = a
            .iter()
            .filter_map(|i| self.string(i, key, example))
            .collect();
        if argv.is_empty() {
            self.c.error(
                v.span(),
                format!("`{key}` is empty"),
                Some(format!("for example: {key} = {example}")),
            );
            return None;
        }
        Some(argv)
    }

    /// `[metrics]`.
    pub(super) fn metrics(&mut self, t: &DeTable<'_>) -> MetricsSettings {
        let mut m = MetricsSettings::default();
        let mut listen_span = None;
        for (key, val) in t {
            match key.get_ref().as_ref() {
                "listen" => {
                    listen_span = Some(val.span());
                    if let Some(s) = self.string(val, "listen", "\"127.0.0.1:9102\"") {
                        match s.parse() {
                            Ok(addr) => m.listen = Some(addr),
                            Err(_) => self.c.error(
                                val.span(),
                                format!("`listen` must be ip:port, not \"{s}\""),
                                Some("for example: listen = \"127.0.0.1:9102\"".into()),
                            ),
                        }
                    }
                }
                "sample" => {
                    m.sample = self
                        .duration(val, "sample", "\"5s\"")
                        .map(|d| d.max(Duration::from_millis(100)))
                }
                "token_file" => {
                    if let Some(s) = self.string(val, "token_file", "\"/etc/stead/metrics.token\"")
                    {
                        let file = self.path(&s);
                        if let Some(host) = self.host
                            && let Err(why) = host.metrics_token(&file)
                        {
                            self.c.error(
                                val.span(),
                                why,
                                Some("put a long random token in the file (`openssl rand -hex 32 > FILE; chmod 600 FILE`)".into()),
                            );
                        }
                        m.token_file = Some(file);
                    }
                }
                other => self.unknown(key, other, "[metrics]", METRICS_KEYS),
            }
        }
        if let (Some(addr), Some(span), None) = (m.listen, listen_span, &m.token_file)
            && !addr.ip().is_loopback()
        {
            self.c.error(
                span,
                format!("metrics on {addr} could be read by anyone who can reach this machine"),
                Some("listen on 127.0.0.1 (or ::1), or set `token_file` so that scrapers must send `Authorization: Bearer TOKEN`".into()),
            );
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::split_http_url;

    #[test]
    fn http_urls_split_into_authority_and_path() {
        assert_eq!(
            split_http_url("http://127.0.0.1:8080/healthz"),
            Some(("127.0.0.1:8080".into(), "/healthz".into()))
        );
        assert_eq!(
            split_http_url("http://localhost"),
            Some(("localhost:80".into(), "/".into()))
        );
        assert_eq!(split_http_url("https://x/"), None);
        assert_eq!(split_http_url("http://user@x/"), None);
        assert_eq!(split_http_url("http://x:notaport/"), None);
    }
}
