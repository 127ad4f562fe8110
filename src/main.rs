use clap::Parser;
use harden::cli::{Cli, Command};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Memory freed goes back to the system at once, not after a delay:
/// fixing a large compose file frees one parse tree as it builds the next,
/// and the delay kept both resident (peak memory about a tenth higher).
/// mimalloc's bindings do not name this option: it is `mi_option_purge_delay`
/// of the bundled mimalloc 2, set only where the option at that place has
/// that option's default, so a renumbered option is left alone.
///
/// mimalloc 2 rather than 3 (the crate's default): 3 zeroes the bitmaps of
/// a 1 GiB arena at start, about 75 page faults, which made a run on one
/// small project 0.35 ms slower; on a large tree the two are as fast.
fn purge_at_once() {
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    const PURGE_DELAY_DEFAULT: std::os::raw::c_long = 10;
    // SAFETY: the option functions take any option number and value; an
    // unknown number is ignored, and reading one has no side effect.
    unsafe {
        if libmimalloc_sys::mi_option_get(PURGE_DELAY) == PURGE_DELAY_DEFAULT {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        }
    }
}

fn main() -> ExitCode {
    purge_at_once();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; usage errors exit 2.
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match &cli.command {
        Command::Fix(a) => harden::run::fix(a),
        Command::Check(a) => harden::run::check(a),
        Command::Verify(a) => harden::verify::run(a),
        Command::Explain(a) => match a.lang {
            Some(lang) => harden::report::explain::snippet(&a.rule, lang),
            None => harden::report::explain::explain(&a.rule),
        },
        Command::Completions { shell } => print_bytes(&harden::cli::completions(*shell)),
        Command::Cache { action } => match action {
            harden::cli::CacheAction::Clear => match harden::image::cache::clear() {
                Ok((dir, n)) => {
                    println!("removed {n} cached image file(s) from {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            },
        },
        Command::Man => match harden::cli::man_page() {
            Ok(page) => print_bytes(&page),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// Write generated text to standard output; a closed pipe is the reader's choice.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(bytes);
    ExitCode::SUCCESS
}
