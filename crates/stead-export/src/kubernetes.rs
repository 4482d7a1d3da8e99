//! `stead export kubernetes`: a Deployment per program that always restarts
//! (`replicas = numprocs`), a Job per program that runs to completion (`restart =
//! "on-failure"` → `restartPolicy: OnFailure`, `"never"` → `Never`; `numprocs` →
//! `completions`/`parallelism`, `{index}` → an Indexed Job's `$(JOB_COMPLETION_INDEX)`),
//! `terminationGracePeriodSeconds` from `stop_timeout`, `env`; TCP and UDP `sockets` →
//! `containerPort`s, and for a Deployment a `Service` that reaches them. Plain YAML documents
//! for `kubectl apply -f`.

use serde_json::{Value, json};
use stead_config::RestartPolicy;
use stead_config::Signal;

use crate::yaml::to_yaml;
use crate::{ExportError, File, Options, Program, dns_name, env_with, images, seconds_ceil};

pub(crate) fn render(
    programs: &mut [Program<'_>],
    options: &Options,
) -> Result<Vec<File>, ExportError> {
    let images = images(programs, options)?;
    let docs: Vec<Value> = programs
        .iter_mut()
        .zip(images)
        .flat_map(|(p, image)| manifest(p, options, &image))
        .collect();
    let text: Vec<String> = docs.iter().map(to_yaml).collect();
    Ok(vec![File {
        name: format!("{}.k8s.yaml", options.name),
        text: format!(
            "# Exported from stead.toml by `stead export kubernetes`; edit the source and export again.\n---\n{}",
            text.join("---\n")
        ),
    }])
}

/// The program's workload (a Deployment or a Job), and the Service of a Deployment's ports.
fn manifest(p: &mut Program<'_>, options: &Options, image: &str) -> Vec<Value> {
    let c = p.cfg;
    let name = dns_name(p.name);
    if name != p.name {
        p.drop(format!(
            "the name `{}` is not a DNS-1123 name; exported as `{name}`",
            p.name
        ));
    }
    p.note_host_settings();
    if !c.depends_on.is_empty() {
        p.drop(format!(
            "depends_on {:?}: Kubernetes starts pods independently; use an init container that waits for them, or make the program retry",
            c.depends_on
        ));
    }
    let runs_to_completion = c.restart != RestartPolicy::Always;
    let indexed = runs_to_completion && p.uses_index();
    if p.uses_index() && !indexed {
        p.drop("`{index}`: the replicas of a Deployment are identical; `{index}` became 0 (a StatefulSet or an Indexed Job gives each its own)");
    }
    let index = if indexed {
        "$(JOB_COMPLETION_INDEX)"
    } else {
        "0"
    };
    let command: Vec<String> = p
        .resolved_command("Kubernetes")
        .iter()
        .map(|a| a.replace('$', "$$").replace("{index}", index))
        .collect();
    if command
        .first()
        .is_some_and(|c| c.starts_with("./") || c.starts_with("../"))
    {
        p.drop(format!(
            "`command` starts with a relative path (`{}`, from `cwd` on this host); the image's WORKDIR must hold it",
            command[0]
        ));
    }
    if c.stop_signal != Signal::Term {
        p.drop(format!(
            "`stop_signal = \"{}\"`: Kubernetes sends SIGTERM; set STOPSIGNAL in the image",
            c.stop_signal.name()
        ));
    }
    if c.exit_codes != [0] {
        p.drop("`exit_codes`: Kubernetes counts only exit code 0 as success");
    }
    let defaults = stead_config::Backoff::default();
    if !runs_to_completion && (c.backoff != defaults || c.max_restarts != 10) {
        p.drop("`backoff`, `max_restarts`: the kubelet applies its own crash-loop backoff (10 s doubling to 5 min)");
    }
    // `$` is doubled so that Kubernetes' own `$(VAR)` expansion leaves values alone.
    let env: Vec<Value> = env_with(p, "{index}")
        .into_iter()
        .map(|(k, v)| json!({"name": k, "value": v.replace('$', "$$").replace("{index}", index)}))
        .collect();
    let labels = json!({
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": options.name,
        "app.kubernetes.io/managed-by": "stead-export",
    });
    let mut container = json!({
        "name": name,
        "image": image,
        "command": command,
    });
    if !env.is_empty() {
        container["env"] = Value::Array(env);
    }
    probes(p, &mut container);
    let ports = container_ports(p);
    if !ports.is_empty() {
        container["ports"] = Value::Array(
            ports
                .iter()
                .map(|(name, port)| {
                    json!({"name": name, "containerPort": port.addr.port(), "protocol": port.protocol()})
                })
                .collect(),
        );
    }
    let mut pod = json!({
        "terminationGracePeriodSeconds": seconds_ceil(p.finite_stop_timeout("Kubernetes", "terminationGracePeriodSeconds")),
        "containers": [container],
    });
    if runs_to_completion {
        pod["restartPolicy"] = json!(if c.restart == RestartPolicy::Never {
            "Never"
        } else {
            "OnFailure"
        });
        let mut spec = json!({
            "completions": c.numprocs,
            "parallelism": c.numprocs,
            "backoffLimit": if c.restart == RestartPolicy::Never { 0 } else { c.max_restarts },
            "template": {"metadata": {"labels": labels}, "spec": pod},
        });
        if indexed {
            spec["completionMode"] = json!("Indexed");
        }
        vec![json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "labels": labels},
            "spec": spec,
        })]
    } else {
        let mut docs = vec![json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "replicas": c.numprocs,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
        })];
        if !ports.is_empty() {
            // One address in the cluster for the replicas' ports, as stead's one socket
            // was for its instances.
            let service_ports: Vec<Value> = ports
                .iter()
                .map(|(port_name, port)| {
                    json!({
                        "name": port_name,
                        "port": port.addr.port(),
                        "targetPort": port_name,
                        "protocol": port.protocol(),
                    })
                })
                .collect();
            docs.push(json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "selector": {"app.kubernetes.io/name": name},
                    "ports": service_ports,
                },
            }));
        }
        docs
    }
}

/// The TCP and UDP `sockets` as container ports, each with a name a Service can target: the
/// socket's own when it is a valid port name (at most 15 lowercase letters, digits and
/// single `-`, with a letter) that no other port has, else `tcp-PORT` / `udp-PORT`.
fn container_ports(p: &mut Program<'_>) -> Vec<(String, crate::ports::Port)> {
    let ports = crate::ports::ports(
        p,
        "Kubernetes",
        ", on all of the pod's interfaces (0.0.0.0 or [::]); a Service reaches them",
        "the program must create it itself (an emptyDir volume shares it between containers)",
    );
    let valid = |n: &str| {
        (1..=15).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && n.chars().any(|c| c.is_ascii_lowercase())
            && !n.starts_with('-')
            && !n.ends_with('-')
            && !n.contains("--")
    };
    let fallback = |port: &crate::ports::Port| {
        format!(
            "{}-{}",
            port.protocol().to_ascii_lowercase(),
            port.addr.port()
        )
    };
    let names: Vec<String> = ports
        .iter()
        .map(|port| {
            let own = ports.iter().filter(|o| o.name == port.name).count() == 1
                && valid(&port.name)
                && !ports.iter().any(|o| fallback(o) == port.name);
            if own {
                port.name.clone()
            } else {
                fallback(port)
            }
        })
        .collect();
    names.into_iter().zip(ports).collect()
}

/// The kubelet probes the pod's IP, not its loopback: a probe of 127.0.0.1 or localhost
/// keeps its port, and says so (a program listening on loopback only would fail it).
fn loopback_note(p: &stead_config::Probe) -> Option<String> {
    use stead_config::Probe;
    let host = match p {
        Probe::Tcp(addr) => addr.rsplit_once(':')?.0,
        Probe::Http { url, .. } => {
            let authority = url.strip_prefix("http://")?.split('/').next()?;
            authority.rsplit_once(':').map_or(authority, |(h, _)| h)
        }
        _ => return None,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]").then(|| {
        format!(
            "`{}`: the kubelet probes the pod's IP, not {host}; the program must listen on all interfaces (0.0.0.0), or write the check as an exec probe",
            p.describe()
        )
    })
}

/// A Kubernetes probe handler for a stead probe; `None` (noted) for those it cannot express.
fn handler(p: &stead_config::Probe) -> Option<Value> {
    use stead_config::Probe;
    match p {
        Probe::Tcp(addr) => {
            let (host, port) = addr.rsplit_once(':')?;
            let port: u16 = port.parse().ok()?;
            let mut v = json!({"tcpSocket": {"port": port}});
            if !matches!(host, "127.0.0.1" | "localhost" | "0.0.0.0" | "[::1]") {
                v["tcpSocket"]["host"] = json!(host);
            }
            Some(v)
        }
        Probe::Http { url, .. } => {
            let rest = url.strip_prefix("http://")?;
            let (authority, path) = rest
                .split_once('/')
                .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
            let port: u16 = authority
                .rsplit_once(':')
                .map_or(Some(80), |(_, p)| p.parse().ok())?;
            Some(json!({"httpGet": {"path": path, "port": port}}))
        }
        Probe::Exec(argv) => Some(json!({"exec": {"command": argv}})),
        Probe::Notify | Probe::Log(_) => None,
    }
}

/// `ready` → `readinessProbe` (and a `startupProbe` for the timeout), `health` →
/// `livenessProbe`, `limits` → `resources.limits`; notes for what has no equivalent.
fn probes(p: &mut Program<'_>, container: &mut Value) {
    use stead_config::{CheckAction, HealthProbe};
    let c = p.cfg;
    let probed = [
        c.ready.as_ref().map(|r| &r.probe),
        c.health.as_ref().and_then(|h| match &h.probe {
            HealthProbe::Probe(probe) => Some(probe),
            _ => None,
        }),
    ];
    for note in probed.into_iter().flatten().filter_map(loopback_note) {
        p.drop(note);
    }
    if let Some(r) = &c.ready {
        match handler(&r.probe) {
            Some(mut h) => {
                let period = seconds_ceil(r.interval).max(1);
                h["periodSeconds"] = json!(period);
                let mut startup = h.clone();
                startup["failureThreshold"] = json!((seconds_ceil(r.timeout) / period).max(1));
                container["readinessProbe"] = h;
                container["startupProbe"] = startup;
            }
            None => p.drop(format!(
                "`ready = {}`: Kubernetes probes are tcp, http and exec",
                r.probe.describe()
            )),
        }
    }
    if let Some(hc) = &c.health {
        let h = match &hc.probe {
            HealthProbe::Probe(probe) => handler(probe),
            _ => None,
        };
        match h {
            Some(mut h) if hc.action == CheckAction::Restart => {
                h["periodSeconds"] = json!(seconds_ceil(hc.interval).max(1));
                h["timeoutSeconds"] = json!(seconds_ceil(hc.timeout).max(1));
                h["failureThreshold"] = json!(hc.failures);
                if !hc.grace.is_zero() {
                    h["initialDelaySeconds"] = json!(seconds_ceil(hc.grace));
                }
                container["livenessProbe"] = h;
            }
            _ => p.drop("`health`: only tcp, http and exec checks with action = \"restart\" become a livenessProbe"),
        }
    }
    if let Some(l) = &c.limits {
        let mut limits = serde_json::Map::new();
        if let Some(m) = l.max_memory {
            limits.insert("memory".into(), json!(m.to_string()));
        }
        if let Some(cpu) = l.max_cpu {
            limits.insert(
                "cpu".into(),
                json!(format!("{}m", (cpu * 10.0).round() as u64)),
            );
        }
        container["resources"] = json!({"limits": limits});
        if l.action == CheckAction::Report {
            p.drop("`limits` with action = \"report\": Kubernetes enforces resource limits");
        }
    }
    if c.on_fatal.is_some() || c.on_unhealthy.is_some() {
        p.drop("`on_fatal`/`on_unhealthy`: alert from your cluster's monitoring instead");
    }
}

#[cfg(test)]
mod tests {
    use crate::{Format, Options, export};

    #[test]
    fn a_loopback_probe_is_said_to_reach_the_pods_ip() {
        let config = stead_config::Config::parse_portable(
            std::path::Path::new("/srv/stead.toml"),
            "[program.web]\ncommand = ['/bin/web']\nready = { tcp = '127.0.0.1:8080' }\n\
             [program.api]\ncommand = ['/bin/api']\nready = { tcp = '0.0.0.0:9090' }\n",
        )
        .unwrap();
        let options = Options {
            image: Some("app:1".into()),
            ..Options::default()
        };
        let out = export(&config, Format::Kubernetes, &options).unwrap();
        assert!(out.files[0].text.contains("port: 8080"));
        let notes: Vec<(String, String)> = out
            .warnings
            .into_iter()
            .flat_map(|w| w.dropped.into_iter().map(move |d| (w.program.clone(), d)))
            .collect();
        assert!(
            notes
                .iter()
                .any(|(p, n)| p == "web"
                    && n.contains("the kubelet probes the pod's IP, not 127.0.0.1")),
            "{notes:?}"
        );
        assert!(!notes.iter().any(|(p, _)| p == "api"), "{notes:?}");
    }

    #[test]
    fn sockets_are_container_ports_and_a_service() {
        let config = stead_config::Config::parse_portable(
            std::path::Path::new("/srv/stead.toml"),
            "[program.web]\ncommand = ['/bin/web']\nsockets = [{ listen = 'tcp://0.0.0.0:8443', name = 'https' }, \
             { listen = 'tcp://[::]:8443', ipv6_only = true }, 'udp://0.0.0.0:53', 'tcp://0.0.0.0:53', 'unix:/run/web.sock']\n\
             [program.job]\ncommand = ['/bin/job']\nrestart = 'never'\nsockets = ['tcp://0.0.0.0:9000']\n",
        )
        .unwrap();
        let options = Options {
            image: Some("app:1".into()),
            ..Options::default()
        };
        let out = export(&config, Format::Kubernetes, &options).unwrap();
        let text = &out.files[0].text;
        // Each port and protocol once, named for the Service to target.
        assert!(
            text.contains(
                "        ports:\n        - containerPort: 8443\n          name: \"https\"\n          protocol: \"TCP\"\n        - containerPort: 53\n          name: \"udp-53\"\n          protocol: \"UDP\"\n        - containerPort: 53\n          name: \"tcp-53\"\n          protocol: \"TCP\"\n"
            ),
            "{text}"
        );
        assert!(text.contains("kind: \"Service\""), "{text}");
        assert!(
            text.contains("  - name: \"https\"\n    port: 8443\n    protocol: \"TCP\"\n    targetPort: \"https\"\n"),
            "{text}"
        );
        // A Job gets its container port, and no Service.
        assert_eq!(text.matches("kind: \"Service\"").count(), 1, "{text}");
        assert!(text.contains("containerPort: 9000"), "{text}");
        let notes: Vec<String> = out.warnings.into_iter().flat_map(|w| w.dropped).collect();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("Kubernetes hands the program no socket (no LISTEN_FDS)")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("`unix:/run/web.sock`: Kubernetes makes no unix socket")),
            "{notes:?}"
        );
    }
}
