//! librdkafka calls that `rdkafka` does not wrap.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{BaseProducer, Producer, ProducerContext};

/// librdkafka's handle on a topic, taken once.
///
/// `BaseProducer::send` with `BaseRecord::to(topic)` copies the topic name
/// into a new C string and looks the topic up by name on every record; with
/// the handle, a send is librdkafka's `rd_kafka_produce` and nothing else.
/// It must be dropped before the producer it was taken from.
pub(crate) struct TopicHandle(*mut rdkafka_sys::rd_kafka_topic_t);

// SAFETY: librdkafka's topic handles may be used from any thread (the
// client's own threads use them concurrently); the handle only moves with
// the session that owns it and its producer.
unsafe impl Send for TopicHandle {}

impl TopicHandle {
    /// A handle on `topic` of `producer`'s client, with the client's default
    /// topic configuration.
    pub(crate) fn new<C: ProducerContext>(
        producer: &BaseProducer<C>,
        topic: &str,
    ) -> Result<TopicHandle, KafkaError> {
        let name = CString::new(topic)?;
        // SAFETY: a live client and a NUL-terminated name; a NULL topic
        // configuration means the client's default one.
        let rkt = unsafe {
            rdkafka_sys::rd_kafka_topic_new(
                producer.client().native_ptr(),
                name.as_ptr(),
                std::ptr::null_mut(),
            )
        };
        if rkt.is_null() {
            return Err(KafkaError::ClientCreation(format!(
                "cannot create a handle for topic {topic}: {:?}",
                last_error()
            )));
        }
        Ok(TopicHandle(rkt))
    }

    /// Enqueues a copy of `payload` for `partition`, with `key` if any and
    /// no opaque (so the delivery callback sees the same message
    /// `BaseProducer::send` would give it); the client's refusal otherwise.
    #[inline]
    pub(crate) fn produce(
        &self,
        partition: i32,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<(), RDKafkaErrorCode> {
        let (key_ptr, key_len) = key.map_or((std::ptr::null(), 0), |k| (k.as_ptr(), k.len()));
        // SAFETY: a live topic handle; librdkafka copies the payload
        // (F_COPY) and the key (always) before returning and never writes
        // through either pointer.
        let rc = unsafe {
            rdkafka_sys::rd_kafka_produce(
                self.0,
                partition,
                rdkafka_sys::RD_KAFKA_MSG_F_COPY,
                payload.as_ptr() as *mut std::ffi::c_void,
                payload.len(),
                key_ptr as *const std::ffi::c_void,
                key_len,
                std::ptr::null_mut(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(last_error())
        }
    }
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_topic_new, destroyed once, before the
        // client (its owner declares it before the producer).
        unsafe { rdkafka_sys::rd_kafka_topic_destroy(self.0) }
    }
}

/// The calling thread's last librdkafka error.
fn last_error() -> RDKafkaErrorCode {
    // SAFETY: reads a thread-local error code; no pointers involved.
    RDKafkaErrorCode::from(unsafe { rdkafka_sys::rd_kafka_last_error() })
}

/// Whether a failed message is one the broker may nonetheless have stored.
pub(crate) fn possibly_persisted(message: &BorrowedMessage<'_>) -> bool {
    // SAFETY: the message pointer is valid while the borrowed message lives.
    let status = unsafe { rdkafka_sys::rd_kafka_message_status(message.ptr()) };
    status == rdkafka_sys::rd_kafka_msg_status_t::RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED
}

/// The configuration `producer`'s client runs with (its own and its default
/// topic configuration), after librdkafka's defaults and derivations,
/// limited to `keys`.
pub(crate) fn effective_config<C: ProducerContext>(
    producer: &BaseProducer<C>,
    keys: &[&str],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    // SAFETY: rd_kafka_conf returns the client's own configuration, valid while
    // the producer lives; the dump is a copy freed below.
    unsafe {
        let conf = rdkafka_sys::rd_kafka_conf(producer.client().native_ptr()) as *mut _;
        let mut collect = |arr: *mut *const std::os::raw::c_char, cnt: usize| {
            let entries = std::slice::from_raw_parts(arr, cnt);
            for pair in entries.chunks_exact(2) {
                let key = CStr::from_ptr(pair[0]).to_string_lossy();
                if keys.contains(&key.as_ref()) {
                    let value = CStr::from_ptr(pair[1]).to_string_lossy().into_owned();
                    out.insert(key.into_owned(), value);
                }
            }
            rdkafka_sys::rd_kafka_conf_dump_free(arr, cnt);
        };
        let mut cnt = 0usize;
        let arr = rdkafka_sys::rd_kafka_conf_dump(conf, &mut cnt);
        collect(arr, cnt);
        let topic_conf = rdkafka_sys::rd_kafka_conf_get_default_topic_conf(conf);
        if !topic_conf.is_null() {
            let mut cnt = 0usize;
            let arr = rdkafka_sys::rd_kafka_topic_conf_dump(topic_conf, &mut cnt);
            collect(arr, cnt);
        }
    }
    out
}

/// librdkafka's name of an error code (`rd_kafka_err2name`'s table), e.g.
/// `_MSG_TIMED_OUT`; `None` for a code the linked librdkafka does not list.
pub(crate) fn error_code_name(code: RDKafkaErrorCode) -> Option<String> {
    let mut descs: *const rdkafka_sys::rd_kafka_err_desc = std::ptr::null();
    let mut n: usize = 0;
    // SAFETY: librdkafka hands out a pointer to its static table of `n`
    // descriptions, valid for the life of the process; names are static
    // NUL-terminated strings or null. Codes are compared as integers, so no
    // enum value is made from a number.
    unsafe {
        rdkafka_sys::rd_kafka_get_err_descs(&mut descs, &mut n);
        (0..n)
            .map(|i| &*descs.add(i))
            .find(|d| d.code as i32 == code as i32 && !d.name.is_null())
            .map(|d| CStr::from_ptr(d.name).to_string_lossy().into_owned())
    }
}
