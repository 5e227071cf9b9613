/// mimalloc rather than the system allocator: a request allocates and frees many small
/// buffers across two or more worker threads, and glibc's malloc spent about a seventh of the
/// server's time on them under load (measured with `perf` during bench/create_payments.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match hundi::cli::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
