use std::process::ExitCode;

fn main() -> ExitCode {
    // Like any Unix tool, stop quietly when the reader of the output goes
    // away (`letterpress subscribers list | head`) instead of panicking in
    // println! on the broken pipe.
    // SAFETY: called first thing, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    letterpress::cli::main()
}
