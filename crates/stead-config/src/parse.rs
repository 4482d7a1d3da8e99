//! The walk over a span-preserving TOML tree. Every key is checked by hand, not by serde's
//! `deny_unknown_fields`, so that all problems are reported at once, each with its position
//! and a suggestion.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod check;
mod log;
mod socket;
mod update;

pub use check::split_http_url as parse_http_url;

use super::diagnostic::{Collector, did_you_mean};
use super::log::LogSettings;
use super::{Backoff, Config, ConfigError, ProgramConfig, RestartPolicy, SupervisorSettings};
use crate::{HostChecks, Signal, parse_duration};

const TOP_KEYS: &[&str] = &["supervisor", "log", "metrics", "program"];
const SUPERVISOR_KEYS: &[&str] = &["exit_on_fatal", "log_dir", "include"];
const PROGRAM_KEYS: &[&str] = &[
    "command",
    "shell",
    "cwd",
    "env",
    "env_file",
    "user",
    "group",
    "numprocs",
    "autostart",
    "restart",
    "backoff",
    "max_restarts",
    "restart_window",
    "stop_signal",
    "stop_timeout",
    "exit_codes",
    "kill_tree",
    "log",
    "image",
    "depends_on",
    "ready",
    "health",
    "limits",
    "on_fatal",
    "on_unhealthy",
    "sockets",
    "update",
];
const BACKOFF_KEYS: &[&str] = &["initial", "max", "multiplier", "jitter", "reset_after"];

pub(super) fn parse(
    path: &Path,
    text: &str,
    host: Option<&dyn HostChecks>,
) -> Result<Config, ConfigError> {
    let root = toml_root(path, text)?;
    let mut w = Walker::new(text, dir_of(path), host);
    // `[log]` holds the defaults of every program's `[program.NAME.log]`, wherever it is.
    if let Some((_, value)) = root.get_ref().iter().find(|(k, _)| k.get_ref() == "log")
        && let Some(t) = w.table(value, "[log]")
    {
        w.log_defaults = w.log(t, "[log]", &LogSettings::default());
    }
    let mut supervisor = SupervisorSettings::default();
    let mut programs = Vec::new();
    let mut saw_program = false;
    let mut metrics = crate::MetricsSettings::default();
    let mut includes = Vec::new();
    for (key, value) in root.get_ref() {
        match key.get_ref().as_ref() {
            "supervisor" => {
                if let Some(t) = w.table(value, "[supervisor]") {
                    (supervisor, includes) = w.supervisor(t);
                }
            }
            "log" => {}
            "metrics" => {
                if let Some(t) = w.table(value, "[metrics]") {
                    metrics = w.metrics(t);
                }
            }
            "program" => {
                saw_program = true;
                let Some(t) = w.table(value, "[program]") else {
                    continue;
                };
                for (name, body) in t {
                    w.program(name, body, &mut programs);
                }
            }
            other => w.unknown(key, other, "the top level", TOP_KEYS),
        }
    }
    supervisor.metrics = metrics;
    if includes.is_empty() {
        let mut ws = [w];
        check_dependencies(&mut ws, &programs);
        let [mut w] = ws;
        if !saw_program && w.c.diagnostics.is_empty() {
            w.c.error(
                0..0,
                "no programs: the file has no [program.NAME] section",
                Some(
                    "add one, e.g.\n[program.web]\ncommand = [\"./server\", \"--port\", \"8080\"]"
                        .into(),
                ),
            );
        }
        w.c.finish(path)?;
        return Ok(Config {
            path: path.to_path_buf(),
            supervisor,
            programs,
        });
    }
    // The included files, read once the main file is known to be sound.
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for (pattern, span) in &includes {
        match crate::include::expand(pattern) {
            Ok(found) => {
                for file in found {
                    if file == path || files.iter().any(|(f, _)| *f == file) {
                        continue;
                    }
                    match crate::read_bounded(&file, crate::MAX_CONFIG_BYTES) {
                        Ok(text) => {
                            supervisor.included.push(file.clone());
                            files.push((file, text));
                        }
                        Err(e) => w.c.error(
                            span.clone(),
                            format!("cannot read included `{}`: {e}", file.display()),
                            Some("make it a readable UTF-8 file, or remove it".into()),
                        ),
                    }
                }
            }
            Err((message, hint)) => w.c.error(span.clone(), message, Some(hint)),
        }
    }
    if !w.c.diagnostics.is_empty() {
        return Err(w.c.finish(path).unwrap_err());
    }
    let roots = files
        .iter()
        .map(|(file, text)| toml_root(file, text))
        .collect::<Result<Vec<_>, _>>()?;
    let log_defaults = w.log_defaults.clone();
    // Which file each program came from, for the message about a name defined twice.
    let mut owner: std::collections::HashMap<String, &Path> =
        programs.iter().map(|p| (p.group.clone(), path)).collect();
    let mut ws = vec![w];
    for ((file, text), root) in files.iter().zip(&roots) {
        let mut wi = Walker::new(text, dir_of(file), host);
        wi.log_defaults = log_defaults.clone();
        // The sockets of the files before it: an address is held once across all of them.
        wi.sockets_seen = ws
            .last()
            .map(|p| p.sockets_seen.clone())
            .unwrap_or_default();
        for (key, value) in root.get_ref() {
            if key.get_ref() != "program" {
                wi.c.error(
                    key.span(),
                    format!("`{}` cannot be in an included file", key.get_ref()),
                    Some(format!(
                        "an included file holds [program.NAME] sections only; [supervisor], [log] and [metrics] belong in {}",
                        path.display()
                    )),
                );
                continue;
            }
            let Some(t) = wi.table(value, "[program]") else {
                continue;
            };
            for (name, body) in t {
                if let Some(first) = owner.get(name.get_ref().as_ref()) {
                    wi.c.error(
                        name.span(),
                        format!(
                            "[program.{}] is defined twice: also in {}",
                            name.get_ref(),
                            first.display()
                        ),
                        Some("rename one of them, or remove one".into()),
                    );
                    continue;
                }
                wi.program(name, body, &mut programs);
                owner.insert(name.get_ref().to_string(), file.as_path());
            }
        }
        ws.push(wi);
    }
    check_dependencies(&mut ws, &programs);
    for (w, file) in ws
        .into_iter()
        .zip(std::iter::once(path).chain(files.iter().map(|(f, _)| f.as_path())))
    {
        w.c.finish(file)?;
    }
    Ok(Config {
        path: path.to_path_buf(),
        supervisor,
        programs,
    })
}

/// Checks every `depends_on` of every file against the programs of all of them: each names a
/// program, none is its own, and there is no cycle. Each problem is reported in the file, at
/// the entry, that holds it.
fn check_dependencies(walkers: &mut [Walker<'_, '_>], programs: &[ProgramConfig]) {
    let groups: Vec<&str> = {
        let mut g: Vec<&str> = programs.iter().map(|p| p.group.as_str()).collect();
        g.dedup();
        g
    };
    let mut edges: Vec<(usize, String, String, Range<usize>)> = Vec::new();
    for (i, w) in walkers.iter_mut().enumerate() {
        for (program, dep, span) in std::mem::take(&mut w.deps) {
            if dep == program {
                w.c.error(
                    span,
                    format!("[program.{program}] depends on itself"),
                    Some("remove it from `depends_on`".into()),
                );
            } else if !groups.contains(&dep.as_str()) {
                let hint = did_you_mean(&dep, &groups).map_or_else(
                    || format!("the programs are: {}", groups.join(", ")),
                    |d| format!("did you mean \"{d}\"?"),
                );
                w.c.error(
                    span,
                    format!("[program.{program}] depends on `{dep}`, which is not a program here"),
                    Some(hint),
                );
            } else {
                edges.push((i, program, dep, span));
            }
        }
    }
    // A cycle: follow the edges from each program; report one cycle, once, at the entry
    // that closes it.
    for (i, start, first, span) in &edges {
        let mut seen = vec![first.as_str()];
        let mut frontier = vec![(first.as_str(), vec![start.as_str(), first.as_str()])];
        let mut cycle = None;
        while let Some((at, trail)) = frontier.pop() {
            for (_, from, to, _) in &edges {
                if from != at {
                    continue;
                }
                let mut t = trail.clone();
                t.push(to.as_str());
                if to == start {
                    cycle = Some(t);
                    break;
                }
                if !seen.contains(&to.as_str()) {
                    seen.push(to.as_str());
                    frontier.push((to.as_str(), t));
                }
            }
            if cycle.is_some() {
                break;
            }
        }
        if let Some(c) = cycle {
            // Report each cycle once: at its alphabetically first program.
            if c.iter().min() == Some(&start.as_str()) {
                walkers[*i].c.error(
                    span.clone(),
                    format!("dependency cycle: {}", c.join(" → ")),
                    Some("remove one of these `depends_on` entries".into()),
                );
            }
        }
    }
}

/// The TOML document, or an error at the place the TOML is broken.
fn toml_root<'i>(path: &Path, text: &'i str) -> Result<Spanned<DeTable<'i>>, ConfigError> {
    DeTable::parse(text).map_err(|e| {
        let mut c = Collector::new(text);
        let span = e.span().unwrap_or(0..0);
        c.error(span, format!("invalid TOML: {}", e.message().trim()), None);
        c.finish(path).unwrap_err()
    })
}

/// The directory relative paths in `path` start at (absolute).
fn dir_of(path: &Path) -> PathBuf {
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::path::absolute(base_dir).unwrap_or_else(|_| base_dir.to_path_buf())
}

struct Walker<'t, 'h> {
    c: Collector<'t>,
    base_dir: PathBuf,
    log_defaults: LogSettings,
    /// Every `depends_on` entry: (program, dependency, span of the entry).
    deps: Vec<(String, String, Range<usize>)>,
    /// Every held socket's address so far, with its program: each is held once.
    sockets_seen: Vec<(String, crate::SocketSpec, Range<usize>)>,
    /// Check the config against this machine (binaries, users, directories, env files);
    /// off for `stead export`, whose programs run elsewhere.
    /// The checks against this host, or `None` for a portable load.
    host: Option<&'h dyn HostChecks>,
}

impl<'t, 'h> Walker<'t, 'h> {
    fn new(text: &'t str, base_dir: PathBuf, host: Option<&'h dyn HostChecks>) -> Self {
        Walker {
            c: Collector::new(text),
            base_dir,
            log_defaults: LogSettings::default(),
            deps: Vec::new(),
            sockets_seen: Vec::new(),
            host,
        }
    }
}

impl Walker<'_, '_> {
    fn unknown(
        &mut self,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        name: &str,
        place: &str,
        known: &[&str],
    ) {
        let hint = match did_you_mean(name, known) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the keys allowed here are: {}", known.join(", ")),
        };
        self.c.error(
            key.span(),
            format!("unknown key `{name}` in {place}"),
            Some(hint),
        );
    }

    fn type_error(&mut self, v: &Spanned<DeValue<'_>>, key: &str, expected: &str, example: &str) {
        self.c.error(
            v.span(),
            format!("`{key}` must be {expected}, not {}", kind(v.get_ref())),
            Some(format!("for example: {key} = {example}")),
        );
    }

    fn table<'a, 'i>(
        &mut self,
        v: &'a Spanned<DeValue<'i>>,
        what: &str,
    ) -> Option<&'a DeTable<'i>> {
        if let DeValue::Table(t) = v.get_ref() {
            Some(t)
        } else {
            self.c.error(
                v.span(),
                format!("{what} must be a table, not {}", kind(v.get_ref())),
                None,
            );
            None
        }
    }

    fn string(&mut self, v: &Spanned<DeValue<'_>>, key: &str, example: &str) -> Option<String> {
        if let DeValue::String(s) = v.get_ref() {
            if s.contains('\0') {
                self.c
                    .error(v.span(), format!("`{key}` contains a NUL character"), None);
                return None;
            }
            Some(s.to_string())
        } else {
            self.type_error(v, key, "a string", example);
            None
        }
    }

    fn boolean(&mut self, v: &Spanned<DeValue<'_>>, key: &str) -> Option<bool> {
        if let DeValue::Boolean(b) = v.get_ref() {
            Some(*b)
        } else {
            self.type_error(v, key, "true or false", "true");
            None
        }
    }

    fn integer(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        key: &str,
        range: Range<i64>,
        example: &str,
    ) -> Option<i64> {
        let DeValue::Integer(i) = v.get_ref() else {
            self.type_error(v, key, "an integer", example);
            return None;
        };
        let parsed = i64::from_str_radix(i.as_str(), i.radix()).ok();
        match parsed {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                self.c.error(
                    v.span(),
                    format!(
                        "`{key}` must be between {} and {}",
                        range.start,
                        range.end - 1
                    ),
                    Some(format!("for example: {key} = {example}")),
                );
                None
            }
        }
    }

    fn float(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        key: &str,
        lo: f64,
        hi: f64,
        example: &str,
    ) -> Option<f64> {
        let parsed = match v.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            _ => {
                self.type_error(v, key, "a number", example);
                return None;
            }
        };
        match parsed {
            Some(n) if (lo..=hi).contains(&n) => Some(n),
            _ => {
                self.c.error(
                    v.span(),
                    format!("`{key}` must be between {lo} and {hi}"),
                    Some(format!("for example: {key} = {example}")),
                );
                None
            }
        }
    }

    fn duration(&mut self, v: &Spanned<DeValue<'_>>, key: &str, example: &str) -> Option<Duration> {
        self.duration_with(v, key, example, parse_duration)
    }

    /// A duration, or `"infinity"` ([`crate::INFINITY`]: no timeout).
    fn timeout(&mut self, v: &Spanned<DeValue<'_>>, key: &str, example: &str) -> Option<Duration> {
        self.duration_with(v, key, example, crate::parse_timeout)
    }

    fn duration_with(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        key: &str,
        example: &str,
        parse: fn(&str) -> Result<Duration, String>,
    ) -> Option<Duration> {
        let s = self.string(v, key, example)?;
        match parse(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.c.error(
                    v.span(),
                    format!("bad duration for `{key}`: {e}"),
                    Some(format!("for example: {key} = {example}")),
                );
                None
            }
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// `[supervisor]`, and the `include` patterns in it (absolute, with their spans).
    fn supervisor(
        &mut self,
        t: &DeTable<'_>,
    ) -> (SupervisorSettings, Vec<(PathBuf, Range<usize>)>) {
        let mut s = SupervisorSettings::default();
        let mut includes = Vec::new();
        for (key, v) in t {
            match key.get_ref().as_ref() {
                "include" => {
                    const EXAMPLE: &str = "[\"/etc/stead/conf.d/*.toml\"]";
                    let DeValue::Array(items) = v.get_ref() else {
                        self.type_error(v, "include", "an array of paths", EXAMPLE);
                        continue;
                    };
                    for item in items {
                        if let Some(p) = self.string(item, "include", EXAMPLE) {
                            includes.push((self.path(&p), item.span()));
                        }
                    }
                }
                "exit_on_fatal" => {
                    s.exit_on_fatal = self.boolean(v, "exit_on_fatal").unwrap_or(false)
                }
                "log_dir" => {
                    s.log_dir = self
                        .string(v, "log_dir", "\"/var/log/stead\"")
                        .map(|p| self.path(&p))
                }
                other => self.unknown(key, other, "[supervisor]", SUPERVISOR_KEYS),
            }
        }
        (s, includes)
    }

    #[allow(clippy::too_many_lines)]
    fn program(
        &mut self,
        name_key: &Spanned<std::borrow::Cow<'_, str>>,
        body: &Spanned<DeValue<'_>>,
        out: &mut Vec<ProgramConfig>,
    ) {
        let name = name_key.get_ref().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || name.starts_with('.')
        {
            self.c.error(
                name_key.span(),
                format!("bad program name `{name}`"),
                Some("use letters, digits, `-`, `_` and `.` (`:` is reserved for numprocs instances)".into()),
            );
        }
        let place = format!("[program.{name}]");
        let Some(t) = self.table(body, &place) else {
            return;
        };
        let mut p = ProgramConfig::new(&name, Vec::new());
        p.cwd.clone_from(&self.base_dir);
        p.log = self.log_defaults.clone();
        let mut command: Option<(Vec<String>, Range<usize>)> = None;
        let mut command_is_string = false;
        // Each argument's place, for errors about its variables (array form only).
        let mut arg_spans: Vec<Range<usize>> = Vec::new();
        let mut shell = false;
        let mut shell_span = 0..0;
        let mut numprocs = 1u32;
        let mut env_file: Vec<(String, String)> = Vec::new();
        let mut env: Vec<(String, String)> = Vec::new();
        let mut cwd_span = None;
        for (key, v) in t {
            let k = key.get_ref().as_ref();
            match k {
                "command" => match v.get_ref() {
                    DeValue::String(s) => {
                        command_is_string = true;
                        command = Some((vec![s.to_string()], v.span()));
                    }
                    DeValue::Array(a) => {
                        let mut argv = Vec::new();
                        arg_spans.clear();
                        for item in a {
                            if let Some(s) =
                                self.string(item, "command", "[\"./server\", \"--port\", \"8080\"]")
                            {
                                argv.push(s);
                                arg_spans.push(item.span());
                            }
                        }
                        if argv.is_empty() {
                            self.c.error(
                                v.span(),
                                "`command` is empty",
                                Some("name the program to run: command = [\"./server\"]".into()),
                            );
                        }
                        command = Some((argv, v.span()));
                    }
                    _ => self.type_error(
                        v,
                        "command",
                        "an argv array or a string",
                        "[\"./server\", \"--port\", \"8080\"]",
                    ),
                },
                "shell" => {
                    shell = self.boolean(v, "shell").unwrap_or(false);
                    shell_span = v.span();
                }
                "cwd" => {
                    if let Some(s) = self.string(v, "cwd", "\"/srv/app\"") {
                        p.cwd = self.path(&s);
                        cwd_span = Some(v.span());
                    }
                }
                "env" => {
                    let Some(et) = self.table(v, "`env`") else {
                        continue;
                    };
                    for (ek, ev) in et {
                        let ename = ek.get_ref().to_string();
                        if ename.is_empty() || ename.contains('=') || ename.contains('\0') {
                            self.c.error(
                                ek.span(),
                                format!("bad environment variable name `{ename}`"),
                                Some("names cannot be empty or contain `=`".into()),
                            );
                            continue;
                        }
                        if let Some(val) = self.string(ev, &ename, "\"value\"") {
                            env.push((ename, val));
                        }
                    }
                }
                "env_file" => {
                    let Some((written, optional)) = self.env_file(v) else {
                        continue;
                    };
                    let file = self.path(&written);
                    p.template.env_file = Some(file.clone());
                    p.template.env_file_optional = optional;
                    let missing = std::fs::metadata(&file)
                        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
                    match read_env_file(&file) {
                        Ok(pairs) => env_file = pairs,
                        Err(_) if self.host.is_none() || (optional && missing) => {}
                        Err(e) => self.c.error(
                            v.span(),
                            format!("env_file `{}`: {e}", file.display()),
                            Some(if missing {
                                "fix the path (relative paths start at the config file's directory), or let it be missing: env_file = { path = \"…\", optional = true }".into()
                            } else {
                                "fix the file or the path (relative paths start at the config file's directory)".into()
                            }),
                        ),
                    }
                }
                "user" => {
                    if let Some(u) = self.string(v, "user", "\"www-data\"") {
                        match self.host.map_or(Ok(()), |h| h.user(&u)) {
                            Ok(()) => p.user = Some(u),
                            Err((msg, hint)) => self.c.error(v.span(), msg, Some(hint)),
                        }
                    }
                }
                "group" => {
                    if let Some(g) = self.string(v, "group", "\"www-data\"") {
                        match self.host.map_or(Ok(()), |h| h.group(&g)) {
                            Ok(()) => p.group_name = Some(g),
                            Err((msg, hint)) => self.c.error(v.span(), msg, Some(hint)),
                        }
                    }
                }
                "numprocs" => {
                    numprocs = self.integer(v, "numprocs", 1..10_001, "4").unwrap_or(1) as u32
                }
                "autostart" => p.autostart = self.boolean(v, "autostart").unwrap_or(true),
                "restart" => {
                    if let Some(s) = self.string(v, "restart", "\"on-failure\"") {
                        match s.as_str() {
                            "always" => p.restart = RestartPolicy::Always,
                            "on-failure" => p.restart = RestartPolicy::OnFailure,
                            "never" => p.restart = RestartPolicy::Never,
                            other => {
                                let hint = did_you_mean(other, &["always", "on-failure", "never"])
                                    .map_or(
                                        "use \"always\", \"on-failure\" or \"never\"".to_string(),
                                        |s| format!("did you mean \"{s}\"?"),
                                    );
                                self.c.error(
                                    v.span(),
                                    format!("unknown restart policy \"{other}\""),
                                    Some(hint),
                                );
                            }
                        }
                    }
                }
                "backoff" => {
                    if let Some(bt) = self.table(v, "`backoff`") {
                        p.backoff = self.backoff(bt, &name);
                    }
                }
                "max_restarts" => {
                    p.max_restarts = self
                        .integer(v, "max_restarts", 0..1_000_001, "5")
                        .unwrap_or(10) as u32
                }
                "restart_window" => {
                    p.restart_window = self
                        .duration(v, "restart_window", "\"60s\"")
                        .unwrap_or(p.restart_window)
                }
                "stop_signal" => {
                    if let Some(s) = self.string(v, "stop_signal", "\"TERM\"") {
                        match s.parse::<Signal>() {
                            Ok(sig) => p.stop_signal = sig,
                            Err(e) => self.c.error(
                                v.span(),
                                e.to_string(),
                                Some("for example: stop_signal = \"INT\"".into()),
                            ),
                        }
                    }
                }
                "stop_timeout" => {
                    p.stop_timeout = self
                        .timeout(v, "stop_timeout", "\"10s\" or \"infinity\"")
                        .unwrap_or(p.stop_timeout)
                }
                "exit_codes" => {
                    if let DeValue::Array(a) = v.get_ref() {
                        p.exit_codes = a
                            .iter()
                            .filter_map(|i| self.integer(i, "exit_codes", 0..256, "[0, 2]"))
                            .map(|n| n as i32)
                            .collect();
                    } else {
                        self.type_error(v, "exit_codes", "an array of integers", "[0, 2]");
                    }
                }
                "kill_tree" => p.kill_tree = self.boolean(v, "kill_tree").unwrap_or(true),
                "image" => p.image = self.string(v, "image", "\"registry.example/web:1.4\""),
                "depends_on" => match v.get_ref() {
                    DeValue::Array(a) => {
                        for item in a {
                            if let Some(dep) = self.string(item, "depends_on", "[\"db\"]") {
                                self.deps.push((name.clone(), dep.clone(), item.span()));
                                if !p.depends_on.contains(&dep) {
                                    p.depends_on.push(dep);
                                }
                            }
                        }
                    }
                    DeValue::Table(t) => {
                        for (dep_key, cond) in t {
                            let dep = dep_key.get_ref().to_string();
                            let Some(c) =
                                self.choice(cond, "depends_on condition", &["ready", "started"])
                            else {
                                continue;
                            };
                            self.deps.push((name.clone(), dep.clone(), dep_key.span()));
                            if !p.depends_on.contains(&dep) {
                                p.depends_on.push(dep.clone());
                            }
                            if c == "started" {
                                p.depends_started.push(dep);
                            }
                        }
                    }
                    _ => self.type_error(
                        v,
                        "depends_on",
                        "an array of program names or a table of conditions",
                        "[\"db\"] or { db = \"ready\", cache = \"started\" }",
                    ),
                },
                "ready" => p.ready = self.ready(v, &name),
                "health" => p.health = self.health(v, &name),
                "limits" => p.limits = self.limits(v, &name),
                "on_fatal" => p.on_fatal = self.hook(v, "on_fatal"),
                "on_unhealthy" => p.on_unhealthy = self.hook(v, "on_unhealthy"),
                "sockets" => p.sockets = self.sockets(v, &name),
                "update" => (p.update, p.rolling) = self.update(v, &name),
                "log" => {
                    let place = format!("[program.{name}.log]");
                    if let Some(lt) = self.table(v, &place) {
                        let base = self.log_defaults.clone();
                        p.log = self.log(lt, &place, &base);
                    }
                }
                other => self.unknown(key, other, &place, PROGRAM_KEYS),
            }
        }
        let Some((mut argv, cmd_span)) = command else {
            self.c.error(
                name_key.span(),
                format!("{place} has no `command`"),
                Some(
                    "add the program to run: command = [\"./server\", \"--port\", \"8080\"]".into(),
                ),
            );
            return;
        };
        if argv.is_empty() {
            // Already reported (`command` is empty, or none of its items is a string).
            return;
        }
        if let Some(span) = cwd_span
            && self.host.is_some()
            && !p.cwd.is_dir()
        {
            self.c.error(
                span,
                format!("cwd `{}` is not a directory", p.cwd.display()),
                Some("create it or fix the path".into()),
            );
        }
        if shell {
            if !command_is_string {
                self.c.error(
                    shell_span,
                    "`shell = true` needs `command` to be one string",
                    Some("write command = \"./server | tee out.log\"".into()),
                );
                return;
            }
            argv = crate::shell_argv(&argv[0]);
        } else if command_is_string {
            match shlex::split(&argv[0]) {
                Some(split) if !split.is_empty() => argv = split,
                _ => {
                    self.c.error(
                        cmd_span,
                        "cannot split `command` into arguments (unbalanced quotes?)",
                        Some(
                            "use an array: command = [\"prog\", \"arg one\"], or set shell = true"
                                .into(),
                        ),
                    );
                    return;
                }
            }
        }
        if !shell && super::vars::has_variables(&argv[0]) {
            self.c.error(
                arg_spans.first().unwrap_or(&cmd_span).clone(),
                format!("the program to run, `{}`, cannot be a variable", argv[0]),
                Some("name the program itself; variables may follow as its arguments (or write $$ for a literal $)".into()),
            );
            return;
        }
        let mut merged: BTreeMap<String, String> = env_file.into_iter().collect();
        merged.extend(env.iter().cloned());
        let path_var = merged.get("PATH").cloned();
        if let Some(host) = self.host
            && let Err(msg) = host.program(&argv[0], &p.cwd, path_var.as_deref())
        {
            self.c.error(
                cmd_span.clone(),
                msg,
                Some("install it, fix the path, or give an absolute path".into()),
            );
        }
        if (p.user.is_some() || p.group_name.is_some())
            && let Some(host) = self.host
            && let Err((msg, hint)) = host.can_switch_user()
        {
            self.c.error(name_key.span(), msg, Some(hint));
        }
        // The longest instance name (`web:9999`) makes the longest log file name.
        let longest = if numprocs > 1 {
            format!("{name}:{}", numprocs - 1)
        } else {
            name.clone()
        };
        let file = crate::longest_file_name(&longest);
        if file.len() > crate::NAME_MAX {
            let over = file.len() - crate::NAME_MAX;
            self.c.error(
                name_key.span(),
                format!(
                    "program name `{name}` is too long: its log files would be named like \
                     `{file}` ({} bytes), over the {} a file name may have",
                    file.len(),
                    crate::NAME_MAX
                ),
                Some(format!(
                    "use a name of at most {} characters",
                    name.len().saturating_sub(over)
                )),
            );
        }
        p.numprocs = numprocs;
        if !p.sockets.is_empty() {
            self.probes_through_held_sockets(&p, name_key.span());
        }
        p.template.command.clone_from(&argv);
        p.template.shell = shell;
        p.template.env = env.iter().cloned().collect();
        let expand = numprocs > 1 || argv.iter().any(|a| a.contains("{index}"));
        for index in 0..numprocs {
            let mut inst = p.clone();
            inst.index = index;
            if numprocs > 1 {
                inst.name = format!("{name}:{index}");
            }
            let idx = index.to_string();
            inst.env = merged
                .iter()
                .map(|(k, v)| (k.clone(), v.replace("{index}", &idx)))
                .collect();
            // Variables first (from the instance's own environment, then stead's), so that a
            // value holding `{index}` is not expanded twice; a shell expands its own.
            let expanded = if shell {
                argv.clone()
            } else {
                match self.expand_variables(&argv, &inst.env, &arg_spans, &cmd_span) {
                    Some(a) => a,
                    None => return,
                }
            };
            inst.command = if expand {
                expanded
                    .iter()
                    .map(|a| a.replace("{index}", &idx))
                    .collect()
            } else {
                expanded
            };
            out.push(inst);
        }
    }

    /// `command`'s variables (see [`super::vars`]): `None` after reporting an error. Without
    /// this host's checks (`parse_portable`), stead's own environment is not consulted and an
    /// undefined `${NAME}` is left as written: the program runs elsewhere.
    fn expand_variables(
        &mut self,
        argv: &[String],
        env: &BTreeMap<String, String>,
        arg_spans: &[Range<usize>],
        cmd_span: &Range<usize>,
    ) -> Option<Vec<String>> {
        let host = self.host.is_some();
        let lookup = |name: &str| {
            env.get(name)
                .cloned()
                .or_else(|| host.then(|| std::env::var(name).ok()).flatten())
        };
        match super::vars::expand_argv(argv, lookup) {
            Ok(a) => Some(a),
            Err(super::vars::VarError::Undefined { .. }) if !host => Some(argv.to_vec()),
            Err(e) => {
                let span = arg_spans.get(e.arg()).unwrap_or(cmd_span).clone();
                let hint = match &e {
                    super::vars::VarError::Undefined { name, .. } => format!(
                        "define it: env = {{ {name} = \"…\" }} (or in env_file); write $$ for a literal $"
                    ),
                    super::vars::VarError::Malformed { .. } => {
                        "write ${NAME}, or $$ for a literal $".to_string()
                    }
                };
                self.c.error(span, e.to_string(), Some(hint));
                None
            }
        }
    }

    /// `env_file = "PATH"` or `env_file = { path = "PATH", optional = true }`.
    fn env_file(&mut self, v: &Spanned<DeValue<'_>>) -> Option<(String, bool)> {
        const EXAMPLE: &str = "\".env\" or { path = \"/etc/default/app\", optional = true }";
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), false)),
            DeValue::Table(t) => {
                let mut path = None;
                let mut optional = false;
                for (k, item) in t {
                    match k.get_ref().as_ref() {
                        "path" => path = self.string(item, "env_file.path", "\"/etc/default/app\""),
                        "optional" => {
                            optional = self.boolean(item, "env_file.optional").unwrap_or(false)
                        }
                        other => self.unknown(k, other, "`env_file`", &["path", "optional"]),
                    }
                }
                if path.is_none() {
                    self.c.error(
                        v.span(),
                        "`env_file` has no `path`",
                        Some("env_file = { path = \"/etc/default/app\", optional = true }".into()),
                    );
                }
                path.map(|p| (p, optional))
            }
            _ => {
                self.type_error(
                    v,
                    "env_file",
                    "a path or a table { path, optional }",
                    EXAMPLE,
                );
                None
            }
        }
    }

    /// `depends_on` names programs of this file, none itself, and no cycle.
    fn backoff(&mut self, t: &DeTable<'_>, name: &str) -> Backoff {
        let mut b = Backoff::default();
        for (key, v) in t {
            match key.get_ref().as_ref() {
                "initial" => {
                    b.initial = self
                        .duration(v, "initial", "\"100ms\"")
                        .unwrap_or(b.initial)
                }
                "max" => b.max = self.duration(v, "max", "\"30s\"").unwrap_or(b.max),
                "multiplier" => {
                    b.multiplier = self
                        .float(v, "multiplier", 1.0, 100.0, "2.0")
                        .unwrap_or(b.multiplier)
                }
                "jitter" => b.jitter = self.float(v, "jitter", 0.0, 1.0, "0.1").unwrap_or(b.jitter),
                "reset_after" => {
                    b.reset_after = self
                        .duration(v, "reset_after", "\"10s\"")
                        .unwrap_or(b.reset_after)
                }
                other => self.unknown(
                    key,
                    other,
                    &format!("[program.{name}.backoff]"),
                    BACKOFF_KEYS,
                ),
            }
        }
        b
    }
}

fn kind(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Reads `KEY=VALUE` lines; `#` comments, blank lines, `export ` prefixes and one level of
/// single or double quotes are accepted, as docker and systemd's `EnvironmentFile=` do.
fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = super::read_bounded(path, 1 << 20).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            return Err(format!(
                "line {}: expected KEY=VALUE, found `{line}`",
                n + 1
            ));
        };
        let k = k.trim();
        if k.is_empty() || k.contains(char::is_whitespace) {
            return Err(format!("line {}: bad variable name `{k}`", n + 1));
        }
        let v = v.trim();
        let v = ['"', '\'']
            .iter()
            .find_map(|q| v.strip_prefix(*q).and_then(|s| s.strip_suffix(*q)))
            .unwrap_or(v);
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        super::parse(path, text, Some(&crate::host::tests::TestHost))
    }

    fn parse_err(text: &str) -> ConfigError {
        parse(Path::new("t.toml"), text).unwrap_err()
    }

    #[test]
    fn sockets_take_addresses_and_tables() {
        let c = parse(
            Path::new("/srv/app/stead.toml"),
            "[program.web]\ncommand = ['sh']\nnumprocs = 2\nsockets = ['tcp://0.0.0.0:8080', \
             { listen = 'unix:run/web.sock', name = 'admin', mode = 0o660, backlog = 16 }, \
             { listen = 'tcp://[::]:8443', ipv6_only = true, reuse_address = false }]\n",
        )
        .unwrap();
        assert_eq!(c.programs[0].update, crate::UpdateStrategy::Restart);
        for inst in &c.programs {
            let s = &inst.sockets;
            assert_eq!(s.len(), 3);
            assert_eq!(s[0].listen.to_string(), "tcp://0.0.0.0:8080");
            assert_eq!((s[0].name.as_str(), s[0].backlog), ("web", 4096));
            assert_eq!(s[1].listen.to_string(), "unix:/srv/app/run/web.sock");
            assert_eq!(
                (s[1].name.as_str(), s[1].mode, s[1].backlog),
                ("admin", 0o660, 16)
            );
            assert_eq!((s[2].ipv6_only, s[2].reuse_address), (Some(true), false));
        }
    }

    #[test]
    fn update_takes_a_strategy_and_rolling_limits() {
        let c = parse(
            Path::new("t.toml"),
            "[program.a]\ncommand = ['sh']\nupdate = 'rolling'\n\
             [program.b]\ncommand = ['sh']\nnumprocs = 4\n\
             update = { strategy = 'rolling', max_surge = '50%', max_unavailable = 1 }\n\
             [program.c]\ncommand = ['sh']\n[program.c.update]\nstrategy = 'restart'\nmax_surge = 0\nmax_unavailable = '25%'\n",
        )
        .unwrap();
        let p = |n: &str| c.programs.iter().find(|p| p.name == n).unwrap();
        assert_eq!(p("a").update, crate::UpdateStrategy::Rolling);
        assert_eq!(p("a").rolling, crate::RollingLimits::default());
        assert_eq!(p("b:0").update, crate::UpdateStrategy::Rolling);
        assert_eq!(p("b:0").rolling.max_surge, crate::Amount::Percent(50));
        assert_eq!(p("b:0").rolling.max_unavailable, crate::Amount::Count(1));
        assert_eq!(p("b:0").rolling.resolve(4), (2, 1));
        assert_eq!(p("c").update, crate::UpdateStrategy::Restart);
        assert_eq!(
            p("c").rolling.resolve(1),
            (0, 1),
            "25% of 1 rounds down to 0: one in place, never a surge ruled out"
        );
    }

    #[test]
    fn bad_rolling_limits_are_refused_with_the_fix() {
        let err = parse_err(
            "[program.a]\ncommand = ['sh']\nupdate = { strategy = 'rolling', max_surge = 0, max_unavailable = '0%' }\n\
             [program.b]\ncommand = ['sh']\nupdate = { strategy = 'rolling', max_surge = '150%', max_surg = 1 }\n\
             [program.c]\ncommand = ['sh']\nupdate = { max_surge = 2 }\n\
             [program.d]\ncommand = ['sh']\nupdate = 3\n\
             [program.e]\ncommand = ['sh']\nupdate = { strategy = 'rollin', max_unavailable = 1.5 }\n",
        );
        let all: Vec<String> = err
            .diagnostics
            .iter()
            .map(|d| format!("{} / {}", d.message, d.hint.clone().unwrap_or_default()))
            .collect();
        assert_eq!(all.len(), 7, "{all:#?}");
        assert!(all[0].contains("cannot both be 0"), "{all:#?}");
        assert!(
            all[1].contains("`max_surge`: `150%` is not a percentage"),
            "{all:#?}"
        );
        assert!(
            all[2].contains("unknown key `max_surg`")
                && all[2].contains("did you mean `max_surge`"),
            "{all:#?}"
        );
        assert!(all[3].contains("has no `strategy`"), "{all:#?}");
        assert!(all[4].contains("`update` must be"), "{all:#?}");
        assert!(
            all[5].contains("unknown strategy \"rollin\"")
                && all[5].contains("did you mean \"rolling\""),
            "{all:#?}"
        );
        assert!(
            all[6].contains("`max_unavailable` must be a count or a percentage, not a float"),
            "{all:#?}"
        );
    }

    #[test]
    fn overlapping_sockets_and_port_zero_are_refused() {
        let err = parse_err(
            "[program.a]\ncommand = ['sh']\nsockets = ['tcp://0.0.0.0:80', 'unix:/x/../y.sock']\n\
             [program.b]\ncommand = ['sh']\nsockets = ['tcp://127.0.0.1:80', 'tcp://[::]:80', 'unix:/y.sock', 'tcp://127.0.0.1:0']\n\
             [program.c]\ncommand = ['sh']\nsockets = [{ listen = 'tcp://[::]:81', ipv6_only = true }, 'tcp://0.0.0.0:81']\n",
        );
        let all: Vec<String> = err.diagnostics.iter().map(|d| d.message.clone()).collect();
        assert_eq!(all.len(), 4, "{all:#?}");
        assert!(
            all[0].contains(
                "`tcp://127.0.0.1:80` of [program.b] overlaps `tcp://0.0.0.0:80` of [program.a]"
            ),
            "{all:#?}"
        );
        assert!(
            all[1].contains("`tcp://[::]:80` of [program.b] overlaps"),
            "{all:#?}"
        );
        assert!(all[2].contains("`unix:/y.sock` is held twice"), "{all:#?}");
        assert!(all[3].contains("port 0"), "{all:#?}");
    }

    #[test]
    fn a_probe_through_a_held_socket_is_refused() {
        let err = parse_err(
            "[program.a]\ncommand = ['sh']\nsockets = ['tcp://0.0.0.0:8080']\nready = { http = 'http://127.0.0.1:8080/up' }\n\
             [program.b]\ncommand = ['sh']\nsockets = ['tcp://127.0.0.1:9090']\nhealth = { tcp = 'localhost:9090' }\n",
        );
        let all: Vec<String> = err.diagnostics.iter().map(|d| d.message.clone()).collect();
        assert_eq!(all.len(), 2, "{all:#?}");
        assert!(
            all[0].contains("ready probes tcp://0.0.0.0:8080"),
            "{all:#?}"
        );
        assert!(
            all[1].contains("health connects to tcp://127.0.0.1:9090"),
            "{all:#?}"
        );
        // Another port, or a notify check, is fine.
        parse(
            Path::new("t.toml"),
            "[program.a]\ncommand = ['sh']\nsockets = ['tcp://0.0.0.0:8080']\nready = { tcp = '127.0.0.1:8081' }\n",
        )
        .unwrap();
    }

    #[test]
    fn bad_sockets_are_named_with_their_place() {
        let err = parse_err(
            "[program.a]\ncommand = ['sh']\nsockets = ['tcp://localhost:80', 'http://x', \
             { listen = 'tcp://0.0.0.0:1', mode = 0o600 }, { name = 'a:b' }, { listen = 'udp://[::1]:53', accept = true }]\n\
             [program.b]\ncommand = ['sh']\nsockets = ['tcp://0.0.0.0:1']\n",
        );
        let msgs: Vec<_> = err
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.line, d.message))
            .collect();
        let all = msgs.join("\n");
        for want in [
            "3: `tcp://localhost:80` is not tcp://IP:PORT",
            "3: `http://x` is not a socket address",
            "3: `mode` applies to unix sockets only",
            "3: socket name `a:b` contains ':'",
            "3: a socket of [program.a] sockets has no `listen`",
            "3: `accept = true`",
            "6: `tcp://0.0.0.0:1` is held twice: by [program.a] and [program.b]",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{all}");
        }
        assert_eq!(msgs.len(), 7, "{all}");
    }

    #[test]
    fn reports_every_problem_at_once() {
        let err = parse_err(
            "[program.a]\ncommand = ['sh']\ncomand = 1\nrestart = 'alway'\nstop_timeout = '10'\n[program.b]\nnumprocs = 0\n",
        );
        let msgs: Vec<_> = err
            .diagnostics
            .iter()
            .map(|d| (d.line, d.message.clone()))
            .collect();
        assert_eq!(msgs.len(), 5, "{msgs:#?}");
        assert_eq!(msgs[0].0, 3);
        assert!(msgs[0].1.contains("unknown key `comand`"));
        assert_eq!(
            err.diagnostics[1].hint.as_deref(),
            Some("did you mean \"always\"?")
        );
        assert!(msgs[2].1.contains("bad duration for `stop_timeout`"));
        assert!(
            msgs.iter()
                .any(|m| m.1.contains("[program.b] has no `command`"))
        );
    }

    #[test]
    fn numprocs_expands_instances_and_index() {
        let c = parse(
            Path::new("t.toml"),
            "[program.w]\ncommand = ['sh', '-c', 'echo {index}']\nnumprocs = 3\nenv = { SLOT = 'slot-{index}' }\n",
        )
        .unwrap();
        let names: Vec<_> = c.programs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["w:0", "w:1", "w:2"]);
        assert_eq!(c.programs[2].command[2], "echo 2");
        assert_eq!(c.programs[1].env["SLOT"], "slot-1");
    }

    #[test]
    fn names_whose_log_file_names_exceed_name_max_are_refused() {
        // `.err.<23-char stamp>.log.gz.tmp` adds 39 bytes: 216 is the longest name.
        let fits = "a".repeat(216);
        let c = parse(
            Path::new("t.toml"),
            &format!("[program.{fits}]\ncommand = ['sh']\n"),
        )
        .unwrap();
        assert_eq!(
            crate::longest_file_name(&c.programs[0].name).len(),
            crate::NAME_MAX
        );
        let long = "a".repeat(217);
        let err = parse_err(&format!("[program.{long}]\ncommand = ['sh']\n"));
        let d = &err.diagnostics[0];
        assert_eq!((d.line, d.column), (1, 10), "{d:?}");
        assert!(d.message.contains("is too long"), "{}", d.message);
        assert!(d.message.contains("256 bytes"), "{}", d.message);
        assert_eq!(
            d.hint.as_deref(),
            Some("use a name of at most 216 characters")
        );
        // numprocs instances carry `@9999` in their file names: the limit counts it.
        let err = parse_err(&format!(
            "[program.{}]\ncommand = ['sh']\nnumprocs = 10000\n",
            "b".repeat(212)
        ));
        assert_eq!(
            err.diagnostics[0].hint.as_deref(),
            Some("use a name of at most 211 characters")
        );
        assert!(
            parse(
                Path::new("t.toml"),
                &format!(
                    "[program.{}]\ncommand = ['sh']\nnumprocs = 10000\n",
                    "b".repeat(211)
                ),
            )
            .is_ok()
        );
    }

    #[test]
    fn command_variables_come_from_the_programs_environment_as_systemd_expands_them() {
        let dir = std::env::temp_dir().join(format!("stead-vars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app.env"), "OPTS=-D -e\n").unwrap();
        let c = parse(
            &dir.join("t.toml"),
            "[program.w]\ncommand = ['sh', '$OPTS', '--name=${NAME}', '$NOTSET', '$$1', 'echo $HOME']\n\
             env_file = 'app.env'\nenv = { NAME = 'w {index}' }\nnumprocs = 2\n",
        )
        .unwrap();
        assert_eq!(
            c.programs[1].command,
            ["sh", "-D", "-e", "--name=w 1", "$1", "echo $HOME"]
        );
        // Export keeps the variables as variables.
        assert_eq!(c.programs[1].template.command[1], "$OPTS");
        // A string command is split first, then expanded; a shell expands its own.
        let c = parse(
            Path::new("t.toml"),
            "[program.a]\ncommand = 'sh ${X}'\nenv = { X = 'a b' }\n\
             [program.b]\ncommand = 'echo ${X} $$'\nshell = true\n",
        )
        .unwrap();
        assert_eq!(c.programs[0].command, ["sh", "a b"]);
        assert_eq!(c.programs[1].command[2], "echo ${X} $$");
    }

    #[test]
    fn an_undefined_braced_variable_is_an_error_at_its_argument() {
        let err =
            parse_err("[program.w]\ncommand = ['sh', '-c', '${STEAD_TEST_SURELY_UNDEFINED}']\n");
        let text = err.to_string();
        assert!(text.contains("t.toml:2:24:"), "{text}");
        assert!(
            text.contains("`${STEAD_TEST_SURELY_UNDEFINED}` in `command` is not set"),
            "{text}"
        );
        assert!(
            text.contains("env = { STEAD_TEST_SURELY_UNDEFINED = "),
            "{text}"
        );
        let text = parse_err("[program.w]\ncommand = ['sh', '${A:-b}']\n").to_string();
        assert!(
            text.contains("`${A:-b}` in `command` is not a variable"),
            "{text}"
        );
        let text = parse_err("[program.w]\ncommand = ['$PROG', 'x']\n").to_string();
        assert!(text.contains("cannot be a variable"), "{text}");
    }

    #[test]
    fn an_optional_env_file_may_be_missing_and_a_required_one_may_not() {
        let c = parse(
            Path::new("t.toml"),
            "[program.w]\ncommand = ['sh', '$OPTS']\nenv_file = { path = '/nonexistent/default', optional = true }\n",
        )
        .unwrap();
        assert_eq!(c.programs[0].command, ["sh"]);
        assert!(c.programs[0].template.env_file_optional);
        let text = parse_err("[program.w]\ncommand = ['sh']\nenv_file = '/nonexistent/default'\n")
            .to_string();
        assert!(text.contains("optional = true"), "{text}");
        let text = parse_err("[program.w]\ncommand = ['sh']\nenv_file = { optional = true }\n")
            .to_string();
        assert!(text.contains("`env_file` has no `path`"), "{text}");
    }

    #[test]
    fn string_commands_are_split_without_a_shell() {
        let c = parse(
            Path::new("t.toml"),
            "[program.w]\ncommand = \"sh -c 'sleep 1'\"\n",
        )
        .unwrap();
        assert_eq!(c.programs[0].command, ["sh", "-c", "sleep 1"]);
    }

    #[test]
    fn dependencies_must_exist_and_not_form_a_cycle() {
        let err = parse_err(
            "[program.a]\ncommand = ['sh']\ndepends_on = ['b', 'dbb']\n[program.b]\ncommand = ['sh']\ndepends_on = ['c']\n\
             [program.c]\ncommand = ['sh']\ndepends_on = ['a']\n[program.db]\ncommand = ['sh']\ndepends_on = ['db']\n",
        );
        let msgs: Vec<_> = err
            .diagnostics
            .iter()
            .map(|d| (d.line, d.message.clone()))
            .collect();
        assert!(
            msgs.iter()
                .any(|(l, m)| *l == 3 && m.contains("depends on `dbb`")),
            "{msgs:#?}"
        );
        assert!(
            msgs.iter()
                .any(|(_, m)| m.contains("dependency cycle: a → b → c → a")),
            "{msgs:#?}"
        );
        assert!(
            msgs.iter()
                .any(|(l, m)| *l == 12 && m.contains("depends on itself")),
            "{msgs:#?}"
        );
        let ok = parse(
            Path::new("t.toml"),
            "[program.a]\ncommand = ['sh']\ndepends_on = ['b']\n[program.b]\ncommand = ['sh']\n",
        )
        .unwrap();
        assert_eq!(ok.programs[0].depends_on, ["b"]);
    }

    #[test]
    fn without_host_checks_only_the_file_itself_is_checked() {
        let text = "[program.w]\ncommand = ['/opt/elsewhere/server']\ncwd = '/srv/nowhere'\nuser = 'no-such-user-here'\nenv_file = '/nonexistent.env'\n";
        let c = super::parse(Path::new("t.toml"), text, None).unwrap();
        assert_eq!(c.programs[0].user.as_deref(), Some("no-such-user-here"));
        assert!(
            super::parse(
                Path::new("t.toml"),
                text,
                Some(&crate::host::tests::TestHost)
            )
            .is_err()
        );
        assert!(super::parse(Path::new("t.toml"), "[program.w]\ncomand = ['x']\n", None).is_err());
    }

    #[test]
    fn missing_binaries_are_errors() {
        let err = parse_err("[program.w]\ncommand = ['/nonexistent/stead-test-binary']\n");
        assert!(
            err.diagnostics[0]
                .message
                .contains("/nonexistent/stead-test-binary"),
            "{err}"
        );
        let err = parse_err("[program.w]\ncommand = ['no-such-program-anywhere-1234']\n");
        assert!(err.to_string().contains("not found"), "{err}");
    }

    #[test]
    fn invalid_toml_points_at_the_syntax_error() {
        let err = parse_err("[program.w]\ncommand = [\n");
        assert!(
            err.diagnostics[0].message.starts_with("invalid TOML"),
            "{err}"
        );
        assert!(err.diagnostics[0].line >= 2);
    }

    #[test]
    fn log_defaults_apply_to_every_program_and_each_can_override() {
        use crate::{LogFormat, LogMode, Timestamps};
        let c = parse(
            Path::new("t.toml"),
            "[program.a]\ncommand = ['sh']\n[program.b]\ncommand = ['sh']\nlog = { format = 'json', keep = 3 }\n\
             [program.c]\ncommand = ['sh']\n[program.c.log]\nmode = 'raw'\n\
             [log]\nmax_size = '1MiB'\nkeep = 7\ntimestamps = 'local'\n",
        )
        .unwrap();
        let (a, b, c) = (&c.programs[0].log, &c.programs[1].log, &c.programs[2].log);
        assert_eq!(
            (a.max_size, a.keep, a.timestamps),
            (1 << 20, 7, Timestamps::Local)
        );
        assert_eq!(
            (b.format, b.keep, b.max_size),
            (LogFormat::Json, 3, 1 << 20)
        );
        assert_eq!((c.mode, c.timestamps), (LogMode::Raw, Timestamps::None));
    }

    #[test]
    fn bad_log_settings_are_reported_with_their_place() {
        let err = parse_err(
            "[log]\nmax_size = 'lots'\nrotate = 'dayly'\n[program.a]\ncommand = ['sh']\nlog = { mode = 'raw', timestamps = 'utc' }\n",
        );
        let msgs: Vec<_> = err
            .diagnostics
            .iter()
            .map(|d| (d.line, d.message.clone()))
            .collect();
        assert_eq!(msgs.len(), 3, "{msgs:#?}");
        assert!(msgs[0].1.contains("bad size for `max_size`") && msgs[0].0 == 2);
        assert_eq!(
            err.diagnostics[1].hint.as_deref(),
            Some("did you mean \"daily\"?")
        );
        assert!(msgs[2].1.contains("raw output is kept byte for byte") && msgs[2].0 == 6);
    }

    #[test]
    fn env_file_values_are_read_and_env_overrides() {
        let dir = std::env::temp_dir().join(format!("stead-envfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app.env"), "# c\nA=1\nexport B=\"two\"\nC='x'\n").unwrap();
        let cfg = dir.join("stead.toml");
        let c = parse(
            &cfg,
            "[program.w]\ncommand = ['sh']\nenv_file = 'app.env'\nenv = { C = 'y' }\n",
        )
        .unwrap();
        let env = &c.programs[0].env;
        assert_eq!(
            (env["A"].as_str(), env["B"].as_str(), env["C"].as_str()),
            ("1", "two", "y")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A directory with `stead.toml` and `conf.d/` holding `files`; removed on drop.
    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
    fn with_includes(name: &str, main: &str, files: &[(&str, &str)]) -> (Scratch, PathBuf) {
        let dir = std::env::temp_dir().join(format!("stead-inc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        for (f, text) in files {
            std::fs::write(dir.join("conf.d").join(f), text).unwrap();
        }
        std::fs::write(dir.join("stead.toml"), main).unwrap();
        let path = dir.join("stead.toml");
        (Scratch(dir), path)
    }
    fn load(path: &Path) -> Result<Config, ConfigError> {
        super::parse(path, &std::fs::read_to_string(path).unwrap(), None)
    }

    #[test]
    fn included_files_add_their_programs_in_name_order() {
        let (_d, path) = with_includes(
            "order",
            "[supervisor]\ninclude = ['conf.d/*.toml']\n[log]\ntimestamps = 'none'\n[program.db]\ncommand = ['db']\n",
            &[
                (
                    "b.toml",
                    "[program.web]\ncommand = ['web']\ndepends_on = ['api']\ncwd = 'www'\n",
                ),
                (
                    "a.toml",
                    "[program.api]\ncommand = ['api']\ndepends_on = ['db']\n",
                ),
                ("c.txt", "not toml ["),
            ],
        );
        let c = load(&path).unwrap();
        let names: Vec<_> = c.programs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["db", "api", "web"]);
        let conf_d = path.parent().unwrap().join("conf.d");
        assert_eq!(
            c.supervisor.included,
            [conf_d.join("a.toml"), conf_d.join("b.toml")]
        );
        // Relative paths in an included file start at its own directory; [log] applies.
        assert_eq!(c.programs[2].cwd, conf_d.join("www"));
        assert_eq!(c.programs[2].log.timestamps, crate::Timestamps::None);
    }

    #[test]
    fn a_socket_is_held_once_across_included_files() {
        let (_d, path) = with_includes(
            "sockets",
            "[supervisor]\ninclude = ['conf.d/*.toml']\n[program.db]\ncommand = ['db']\nsockets = ['tcp://0.0.0.0:5432']\n",
            &[
                (
                    "a.toml",
                    "[program.a]\ncommand = ['a']\nsockets = ['tcp://127.0.0.1:8080']\n",
                ),
                (
                    "b.toml",
                    "[program.b]\ncommand = ['b']\nsockets = ['tcp://127.0.0.1:5432', 'tcp://127.0.0.1:8080']\n",
                ),
            ],
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("b.toml:3:"), "{err}");
        assert!(
            err.contains("overlaps `tcp://0.0.0.0:5432` of [program.db]"),
            "{err}"
        );
        assert!(
            err.contains("`tcp://127.0.0.1:8080` is held twice: by [program.a] and [program.b]"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_drop_in_directory_is_a_config_with_no_programs() {
        let (_d, path) = with_includes("empty", "[supervisor]\ninclude = ['conf.d/*.toml']\n", &[]);
        assert!(load(&path).unwrap().programs.is_empty());
    }

    #[test]
    fn a_problem_in_an_included_file_names_that_file_and_line() {
        let (_d, path) = with_includes(
            "errors",
            "[supervisor]\ninclude = ['conf.d/*.toml']\n[program.web]\ncommand = ['web']\n",
            &[(
                "x.toml",
                "[program.api]\ncommand = ['api']\nrestart = 'sometimes'\n",
            )],
        );
        let err = load(&path).unwrap_err();
        assert_eq!(err.path, path.parent().unwrap().join("conf.d/x.toml"));
        assert_eq!(err.diagnostics[0].line, 3);

        let (_d, path) = with_includes(
            "toml",
            "[supervisor]\ninclude = ['conf.d/*.toml']\n",
            &[("y.toml", "[program.api\n")],
        );
        let err = load(&path).unwrap_err();
        assert!(err.path.ends_with("conf.d/y.toml"), "{err}");
        assert!(err.to_string().contains("invalid TOML"), "{err}");

        let (_d, path) = with_includes(
            "log",
            "[supervisor]\ninclude = ['conf.d/*.toml']\n",
            &[("z.toml", "[log]\ntimestamps = 'none'\n")],
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("z.toml:1:2: `log` cannot be in an included file"),
            "{err}"
        );
    }

    #[test]
    fn a_program_defined_twice_across_files_is_refused_naming_both() {
        let (_d, path) = with_includes(
            "twice",
            "[supervisor]\ninclude = ['conf.d/*.toml']\n[program.web]\ncommand = ['web']\n",
            &[("w.toml", "[program.web]\ncommand = ['other']\n")],
        );
        let err = load(&path).unwrap_err();
        assert!(err.path.ends_with("conf.d/w.toml"));
        assert!(
            err.to_string()
                .contains(&format!("also in {}", path.display())),
            "{err}"
        );
    }

    #[test]
    fn dependencies_and_cycles_are_checked_across_files() {
        let (_d, path) = with_includes(
            "cycle",
            "[supervisor]\ninclude = ['conf.d/*.toml']\n[program.a]\ncommand = ['a']\ndepends_on = ['b']\n",
            &[(
                "b.toml",
                "[program.b]\ncommand = ['b']\ndepends_on = ['a']\n",
            )],
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("dependency cycle: a → b → a"), "{err}");

        let (_d, path) = with_includes(
            "missing",
            "[supervisor]\ninclude = ['conf.d/*.toml']\n",
            &[(
                "b.toml",
                "[program.b]\ncommand = ['b']\ndepends_on = ['nope']\n",
            )],
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("b.toml:3:15: [program.b] depends on `nope`"),
            "{err}"
        );
    }

    #[test]
    fn include_must_be_a_list_of_existing_paths() {
        let err = parse_err("[supervisor]\ninclude = 'conf.d'\n[program.a]\ncommand = ['sh']\n");
        assert!(
            err.to_string()
                .contains("`include` must be an array of paths"),
            "{err}"
        );
        let err = parse_err("[supervisor]\ninclude = ['/nonexistent/stead.toml']\n");
        assert!(
            err.to_string()
                .contains("cannot read included `/nonexistent/stead.toml`"),
            "{err}"
        );
    }
}
