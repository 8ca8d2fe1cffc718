//! An endpoint fed one arbitrary datagram must not panic
//! (`transport::fuzzing::endpoint_datagram`, behind the `fuzzing` feature).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    transport::fuzzing::endpoint_datagram(data);
});
