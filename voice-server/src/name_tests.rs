//! Name server logic without the network.

use super::*;
use crate::outbox::RecordingOutbox;
use crate::token::WallClock;
use std::sync::Mutex;
use transport::codec::{Message, OperationResponse, Value};

const T0_MS: u64 = 1_700_000_000_000;

struct H {
    logic: NameLogic,
    out: RecordingOutbox,
    key: TokenKey,
    now: Instant,
    jobs: Arc<Mutex<Vec<AuthJob>>>,
}

fn p(n: u32) -> PeerHandle {
    PeerHandle(n)
}

fn settings() -> NameSettings {
    NameSettings {
        master_addresses: vec![
            (Protocol::Udp, "udp://127.0.0.1:5055".into()),
            (Protocol::Wss, "wss://voice.test:19090/Master".into()),
        ],
        apps: Vec::new(),
        token_lifetime: Duration::from_secs(3600),
        custom_auth: false,
        custom_auth_required: false,
        when_unavailable: WhenUnavailable::Reject,
    }
}

impl H {
    fn new(settings: NameSettings) -> Self {
        let now = Instant::now();
        let key = TokenKey::from_secret("test secret that is long enough");
        let jobs = Arc::new(Mutex::new(Vec::new()));
        let sink = jobs.clone();
        let logic = NameLogic::new(
            settings,
            key.clone(),
            Arc::new(WallClock::fixed(now, T0_MS)),
            Metrics::new(),
            Box::new(move |j| sink.lock().unwrap().push(j)),
        );
        let mut h = Self {
            logic,
            out: RecordingOutbox::default(),
            key,
            now,
            jobs,
        };
        h.logic
            .handle_connected(now, p(1), Protocol::Udp, &mut h.out);
        h.logic
            .handle_connected(now, p(2), Protocol::Wss, &mut h.out);
        h.logic
            .handle_connected(now, p(3), Protocol::Tcp, &mut h.out);
        h
    }

    fn auth(
        &mut self,
        peer: u32,
        encrypted: bool,
        params: Parameters,
    ) -> Option<OperationResponse> {
        self.out.sent.clear();
        let request = OperationRequest {
            code: op::AUTHENTICATE,
            parameters: params,
        };
        self.logic.handle_request(
            self.now,
            p(peer),
            request,
            MessageMeta::reliable(encrypted),
            &mut self.out,
        );
        self.response(peer)
    }

    fn response(&self, peer: u32) -> Option<OperationResponse> {
        self.out
            .messages_to(p(peer))
            .into_iter()
            .find_map(|m| match m {
                Message::Response(r) => Some(r.clone()),
                _ => None,
            })
    }
}

fn basic() -> Parameters {
    Parameters::new()
        .with(param::APPLICATION_ID, "app")
        .with(param::APP_VERSION, "1.0")
}

#[test]
fn clear_authentication_is_refused() {
    let mut h = H::new(settings());
    let r = h.auth(1, false, basic()).unwrap();
    assert_eq!(r.return_code, error::INVALID_AUTHENTICATION);
    assert!(r
        .debug_message
        .unwrap()
        .contains("authentication must be sent encrypted: call establish_encryption first"));
}

#[test]
fn answers_the_masters_address_for_the_protocol_and_a_token() {
    let mut h = H::new(settings());
    let r = h
        .auth(1, true, basic().with(param::USER_ID, "alice"))
        .unwrap();
    assert_eq!(r.return_code, 0, "{r:?}");
    assert_eq!(
        r.parameters.get(param::ADDRESS),
        Some(&Value::from("udp://127.0.0.1:5055"))
    );
    let (_, options) = match &h.out.sent[0].1 {
        crate::outbox::Recorded::Message(_, o) => ((), *o),
        other => panic!("{other:?}"),
    };
    assert!(options.encrypt, "the token travels encrypted");
    let token = r
        .parameters
        .get(param::TOKEN)
        .and_then(Value::as_bytes)
        .unwrap();
    let claims = h.key.open(token, T0_MS).unwrap();
    assert_eq!(
        (
            claims.user_id.as_str(),
            claims.app_id.as_str(),
            claims.app_version.as_str()
        ),
        ("alice", "app", "1.0")
    );
    assert_eq!(claims.expires_ms, T0_MS + 3_600_000);
    // WSS (encrypted by TLS) gets the master's WSS address; a user id is generated.
    let r = h.auth(2, true, basic()).unwrap();
    assert_eq!(
        r.parameters.get(param::ADDRESS),
        Some(&Value::from("wss://voice.test:19090/Master"))
    );
    assert!(r
        .parameters
        .get(param::USER_ID)
        .and_then(Value::as_str)
        .unwrap()
        .starts_with("user-"));
    // No TCP listener on the master: a clear error.
    let r = h.auth(3, true, basic()).unwrap();
    assert_eq!(r.return_code, error::INTERNAL_SERVER_ERROR);
    assert!(r.debug_message.unwrap().contains("no tcp listener"));
    // Missing app id names the parameter.
    let r = h.auth(1, true, Parameters::new()).unwrap();
    assert_eq!(r.return_code, error::INVALID_OPERATION);
    assert!(r.debug_message.unwrap().contains("parameter 224"));
}

#[test]
fn application_allowlist() {
    let mut s = settings();
    s.apps = vec![AppConfig {
        id: "app".into(),
        versions: vec!["2.0".into()],
    }];
    let mut h = H::new(s);
    let r = h.auth(1, true, basic()).unwrap();
    assert_eq!(r.return_code, error::INVALID_AUTHENTICATION);
    assert!(r.debug_message.unwrap().contains("version"));
    let r = h
        .auth(
            1,
            true,
            Parameters::new().with(param::APPLICATION_ID, "other"),
        )
        .unwrap();
    assert_eq!(r.return_code, error::INVALID_AUTHENTICATION);
    let r = h
        .auth(
            1,
            true,
            Parameters::new()
                .with(param::APPLICATION_ID, "app")
                .with(param::APP_VERSION, "2.0"),
        )
        .unwrap();
    assert_eq!(r.return_code, 0);
}

fn custom(when: WhenUnavailable) -> H {
    let mut s = settings();
    s.custom_auth = true;
    s.custom_auth_required = true;
    s.when_unavailable = when;
    H::new(s)
}

fn job_result(h: &mut H, outcome: AuthOutcome) -> OperationResponse {
    let job = h.jobs.lock().unwrap().pop().expect("a job");
    h.out.sent.clear();
    h.logic.handle_command(
        h.now,
        NameCommand::AuthResult {
            peer: job.peer,
            job: job.job,
            outcome,
        },
        &mut h.out,
    );
    h.response(job.peer.0).expect("answered")
}

#[test]
fn custom_authentication_outcomes() {
    let mut h = custom(WhenUnavailable::Reject);
    let params = basic()
        .with(param::CLIENT_AUTHENTICATION_TYPE, auth_type::CUSTOM)
        .with(param::CLIENT_AUTHENTICATION_PARAMS, "user=a&pass=b");
    assert!(
        h.auth(1, true, params.clone()).is_none(),
        "waits for the provider"
    );
    assert_eq!(h.jobs.lock().unwrap()[0].query, "user=a&pass=b");
    // A second attempt while waiting is refused.
    assert_eq!(
        h.auth(1, true, params.clone()).unwrap().return_code,
        error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE
    );
    let r = job_result(
        &mut h,
        AuthOutcome::Accepted {
            user_id: Some("from-provider".into()),
            data: serde_json::json!({"role": "admin"}),
        },
    );
    assert_eq!(r.return_code, 0);
    let claims = h
        .key
        .open(
            r.parameters
                .get(param::TOKEN)
                .and_then(Value::as_bytes)
                .unwrap(),
            T0_MS,
        )
        .unwrap();
    assert_eq!(claims.user_id, "from-provider");
    assert_eq!(claims.data, serde_json::json!({"role": "admin"}));
    assert_eq!(claims.auth_values, "user=a&pass=b");

    h.auth(1, true, params.clone());
    let r = job_result(
        &mut h,
        AuthOutcome::Rejected {
            message: "bad password".into(),
        },
    );
    assert_eq!(r.return_code, error::CUSTOM_AUTHENTICATION_FAILED);
    assert!(r.debug_message.unwrap().contains("bad password"));

    h.auth(1, true, params.clone());
    let r = job_result(
        &mut h,
        AuthOutcome::Unavailable {
            reason: "connection refused".into(),
        },
    );
    assert_eq!(r.return_code, error::CUSTOM_AUTHENTICATION_FAILED);

    let mut h = custom(WhenUnavailable::Allow);
    h.auth(1, true, params.clone());
    let r = job_result(
        &mut h,
        AuthOutcome::Unavailable {
            reason: "timeout".into(),
        },
    );
    assert_eq!(r.return_code, 0);

    // A stale answer (peer gone and job unknown) is ignored.
    h.auth(1, true, params);
    let job = h.jobs.lock().unwrap().pop().unwrap();
    h.logic.handle_disconnected(h.now, job.peer, &mut h.out);
    h.out.sent.clear();
    h.logic.handle_command(
        h.now,
        NameCommand::AuthResult {
            peer: job.peer,
            job: job.job,
            outcome: AuthOutcome::Rejected {
                message: String::new(),
            },
        },
        &mut h.out,
    );
    assert!(h.out.sent.is_empty());
}
