use clap::Parser;

/// Many small, short-lived allocations (parsed frames, archive rows): mimalloc serves them
/// several times faster than the system allocator. Built with `no_thp`: with transparent
/// huge pages, a compaction spent a quarter of its CPU time in the kernel zeroing fresh 2 MiB
/// pages its threads touched once.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    ecowarden::telemetry();
    match ecowarden::run(ecowarden::cli::Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
