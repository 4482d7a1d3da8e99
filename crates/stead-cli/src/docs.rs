//! `stead __docs` (hidden): the command reference and the man pages, generated from the clap
//! definitions so that `--help`, docs/cli-reference.md and `man stead-up` never drift apart.
//!
//! Man pages come from `clap_mangen` (clap's own generator). The Markdown is a short walk over
//! `clap::Command` rather than `clap-markdown`: that crate has one maintainer and a layout of
//! its own (a footer, a table of contents, no escaping of help text), and forty lines here
//! give a page in the docs' style whose every character is tested against the committed file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::{EXIT_FAILED, EXIT_USAGE, Failure};

/// `stead __docs`.
#[derive(Debug, clap::Args)]
pub(crate) struct DocsArgs {
    /// Write the Markdown command reference to FILE (docs/cli-reference.md).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write a man page per command (stead.1, stead-up.1, ...) into DIR (created if needed).
    #[arg(long, value_name = "DIR")]
    pub man: Option<PathBuf>,
}

/// How to bring the committed reference up to date.
pub(crate) const UPDATE: &str = "cargo run -p stead-cli -- __docs --markdown docs/cli-reference.md";

pub(crate) fn run(args: &DocsArgs, cmd: clap::Command) -> Result<u8, Failure> {
    if args.markdown.is_none() && args.man.is_none() {
        return Err(Failure::new(
            EXIT_USAGE,
            "stead __docs: nothing to write: give --markdown FILE and/or --man DIR",
        ));
    }
    if let Some(file) = &args.markdown {
        std::fs::write(file, markdown(cmd.clone())).map_err(|e| {
            Failure::new(
                EXIT_FAILED,
                format!("stead: writing {}: {e}", file.display()),
            )
        })?;
        eprintln!("wrote {}", file.display());
    }
    if let Some(dir) = &args.man {
        let pages = man_pages(cmd, dir).map_err(|e| {
            Failure::new(
                EXIT_FAILED,
                format!("stead: writing man pages into {}: {e}", dir.display()),
            )
        })?;
        eprintln!("wrote {} man pages into {}", pages.len(), dir.display());
    }
    Ok(0)
}

/// One man page per visible command, into `dir`; returns their paths.
pub(crate) fn man_pages(cmd: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(cmd: clap::Command, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub.clone(), dir, out)?;
        }
        out.push(clap_mangen::Man::new(cmd).generate_to(dir)?);
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(cmd, dir, &mut out)?;
    Ok(out)
}

/// The command reference as Markdown: every visible command with its usage, description,
/// arguments and options (defaults, accepted values, environment variables).
pub(crate) fn markdown(cmd: clap::Command) -> String {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut out = String::new();
    out.push_str("# stead command reference\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the command definitions by `{UPDATE}`: do not edit by hand. -->\n"
    );
    out.push_str(
        "What `stead COMMAND --help` prints, for every command. [cli.md](cli.md) shows how \
         the commands fit together; `man stead-COMMAND` has the same text once the man pages \
         are installed.\n",
    );
    command(&mut cmd, &mut out);
    out
}

fn command(cmd: &mut clap::Command, out: &mut String) {
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string();
    let _ = writeln!(out, "\n## {name}\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = writeln!(out, "{}\n", escape(&about.to_string()));
    }
    let usage = cmd.render_usage().to_string();
    let _ = writeln!(out, "```text\n{}\n```", usage.trim_end());
    let subs: Vec<_> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| {
            (
                s.get_name().to_string(),
                s.get_about().map(ToString::to_string),
            )
        })
        .collect();
    if !subs.is_empty() {
        out.push_str("\nCommands:\n\n");
        for (sub, about) in subs {
            let anchor = format!("{name} {sub}").replace(' ', "-");
            let _ = writeln!(
                out,
                "- [`{sub}`](#{anchor}): {}",
                escape(about.as_deref().unwrap_or(""))
            );
        }
    }
    // Global options are listed once, on `stead` itself.
    let top = cmd.get_name() == name;
    let args: Vec<_> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && (top || !a.is_global_set()))
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version") || top)
        .collect();
    for (title, positional) in [("Arguments", true), ("Options", false)] {
        let these: Vec<_> = args
            .iter()
            .filter(|a| a.is_positional() == positional)
            .collect();
        if these.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}:\n");
        for arg in these {
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(ToString::to_string);
            let mut line = format!("- `{}`", arg_name(arg));
            if let Some(help) = help {
                let help = escape(&help).replace('\n', " ");
                // clap drops a help line's final period; the notes below are sentences.
                let stop = if help.ends_with(['.', ':', '!', '?']) {
                    ""
                } else {
                    "."
                };
                let _ = write!(line, ": {help}{stop}");
            }
            let values: Vec<_> = arg
                .get_possible_values()
                .into_iter()
                .filter(|v| !v.is_hide_set())
                .collect();
            if !values.is_empty() && arg.get_value_parser().possible_values().is_some() {
                let list: Vec<_> = values
                    .iter()
                    .map(|v| match v.get_help() {
                        Some(h) => format!("`{}` ({})", v.get_name(), escape(&h.to_string())),
                        None => format!("`{}`", v.get_name()),
                    })
                    .collect();
                let _ = write!(line, " Values: {}.", list.join(", "));
            }
            let defaults: Vec<_> = arg
                .get_default_values()
                .iter()
                .filter(|_| arg.get_action().takes_values())
                .map(|d| format!("`{}`", d.to_string_lossy()))
                .collect();
            if !defaults.is_empty() {
                let _ = write!(line, " Default: {}.", defaults.join(", "));
            }
            if let Some(env) = arg.get_env() {
                let _ = write!(line, " Environment: `{}`.", env.to_string_lossy());
            }
            let _ = writeln!(out, "{line}");
        }
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    for sub in names {
        if let Some(sub) = cmd.find_subcommand_mut(&sub) {
            command(sub, out);
        }
    }
}

/// `-c, --config <FILE>`, `<NAMES>...`, `-- <CMD>...`.
fn arg_name(arg: &clap::Arg) -> String {
    let values: Vec<String> = arg.get_value_names().map_or_else(
        || vec![arg.get_id().as_str().to_uppercase()],
        |v| v.iter().map(ToString::to_string).collect(),
    );
    let takes = arg.get_action().takes_values();
    let many = matches!(arg.get_action(), clap::ArgAction::Append)
        && arg.get_num_args().is_none_or(|n| n.max_values() > 1);
    let value = values
        .iter()
        .map(|v| {
            format!(
                "<{v}>{}",
                if many && arg.is_positional() {
                    "..."
                } else {
                    ""
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    if arg.is_positional() {
        return if arg.is_last_set() {
            format!("-- {value}")
        } else {
            value
        };
    }
    let mut flags = Vec::new();
    if let Some(s) = arg.get_short() {
        flags.push(format!("-{s}"));
    }
    if let Some(l) = arg.get_long() {
        flags.push(format!("--{l}"));
    }
    let flags = flags.join(", ");
    if takes {
        format!("{flags} {value}")
    } else {
        flags
    }
}

/// Help text is plain text; these characters would be read as Markdown.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim_end().chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::{UPDATE, man_pages, markdown};
    use crate::cli::Cli;

    /// The committed reference, relative to the workspace.
    const MARKDOWN_PATH: &str = "docs/cli-reference.md";

    #[test]
    fn the_committed_command_reference_is_the_generated_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(MARKDOWN_PATH);
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{MARKDOWN_PATH}: {e}; run `{UPDATE}`"))
            .replace("\r\n", "\n");
        let generated = markdown(Cli::command());
        if committed != generated {
            let first = committed
                .lines()
                .zip(generated.lines())
                .position(|(a, b)| a != b)
                .map_or_else(|| "its length".to_string(), |n| format!("line {}", n + 1));
            panic!(
                "{MARKDOWN_PATH} differs from the command definitions (first at {first}): \
                 run `{UPDATE}` and commit it"
            );
        }
    }

    #[test]
    fn every_visible_command_gets_a_man_page() {
        let dir = std::env::temp_dir().join(format!("stead-man-{}", std::process::id()));
        let pages = man_pages(Cli::command(), &dir).unwrap();
        let names: Vec<String> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for expected in [
            "stead.1",
            "stead-up.1",
            "stead-install.1",
            "stead-import-pm2.1",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing: {names:?}"
            );
        }
        assert!(
            !names
                .iter()
                .any(|n| n.contains("__docs") || n.contains("help")),
            "{names:?}"
        );
        let up = std::fs::read_to_string(dir.join("stead-up.1")).unwrap();
        assert!(up.contains(".TH stead-up 1"), "{up}");
        assert!(up.contains("STEAD_CONFIG"), "{up}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
