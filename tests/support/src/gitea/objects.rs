//! The object-storage origin downloads are redirected to when files are
//! served directly (`[storage] SERVE_DIRECT`): presigned, S3-style URLs
//! of the content-addressed blobs (`packages/ab/cd/<sha256>`, as Gitea
//! keeps them). It records every request (headers included) so tests can
//! prove that no Gitea credential reached it.

use super::http::{self, Req, Resp};
use super::state::{State, hex};
use sha2::{Digest, Sha256};

const SECRET: &str = "imglife-gitea-emulator-object-storage";
const BUCKET: &str = "gitea";

fn signature(path: &str, date: &str) -> String {
    hex(&Sha256::digest(
        format!("{SECRET}\n{path}\n{date}").as_bytes(),
    ))
}

/// A presigned URL of the blob `sha256` on the object-storage origin.
pub fn signed_url(origin: &str, sha256: &str) -> String {
    let path = format!(
        "/{BUCKET}/packages/{}/{}/{sha256}",
        &sha256[..2],
        &sha256[2..4]
    );
    let date = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    format!(
        "{origin}{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=emulator%2F{day}%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date={date}&X-Amz-Expires=300&X-Amz-SignedHeaders=host\
         &X-Amz-Signature={sig}",
        day = &date[..8],
        sig = signature(&path, &date),
    )
}

fn s3_error(status: u16, code: &str, message: &str) -> Resp {
    let mut r = http::empty(status);
    *r.body_mut() = http_body_util::Full::new(bytes::Bytes::from(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )));
    http::set_header(&mut r, "content-type", "application/xml");
    r
}

pub fn handle(s: &State, req: &Req) -> Resp {
    if !req.is_get() {
        return s3_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
    }
    // S3 refuses a request that carries both a presigned query and an
    // Authorization header.
    if req.header("authorization").is_some() {
        return s3_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let (Some(date), Some(sig)) = (req.param("X-Amz-Date"), req.param("X-Amz-Signature")) else {
        return s3_error(403, "AccessDenied", "Access Denied");
    };
    if signature(&req.path, date) != sig {
        return s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    let sha256 = req.path.rsplit('/').next().unwrap_or_default();
    let Some(file) = s.files.values().find(|f| f.sha256 == sha256) else {
        return s3_error(404, "NoSuchKey", "The specified key does not exist.");
    };
    let mut r = http::empty(200);
    *r.body_mut() = http_body_util::Full::new(bytes::Bytes::from(file.bytes.clone()));
    http::set_header(&mut r, "content-type", "application/octet-stream");
    http::set_header(&mut r, "etag", &format!("\"{}\"", &file.sha256[..32]));
    r
}
