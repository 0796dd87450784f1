fn main() {
    // MPI's libraries must find the program's `sched_yield` (src/transport/yielding.rs) before
    // the C library's.
    println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=sched_yield");
}
