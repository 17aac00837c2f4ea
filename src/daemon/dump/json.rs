//! keepalived.json: keepalived 2.2.7's `vrrp_json_dump()` (vrrp/vrrp_json.c, written with
//! its lib/json_writer.c: compact, `%g` floats, its string escaping).

use super::cfmt::{c_g, json_str};
use super::global::script_str;
use super::vrrp::{format_route, format_rule, format_vip};
use super::DumpCtx;
use crate::track::Target;
use crate::vrrp::{Auth, Router};
use crate::wire::vrrp::Version;
use std::fmt::Write as _;

/// A JSON object in keepalived's field order.
struct Obj(Vec<(String, String)>);

impl Obj {
    fn raw(&mut self, k: &str, v: impl ToString) {
        self.0.push((k.to_string(), v.to_string()));
    }
    fn str(&mut self, k: &str, v: &str) {
        self.0.push((k.to_string(), json_str(v)));
    }
    fn arr(&mut self, k: &str, items: Vec<String>) {
        if !items.is_empty() {
            let v: Vec<String> = items.iter().map(|s| json_str(s)).collect();
            self.0.push((k.to_string(), format!("[{}]", v.join(","))));
        }
    }
    fn render(&self) -> String {
        let f: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{}:{v}", json_str(k)))
            .collect();
        format!("{{{}}}", f.join(","))
    }
}

fn data(c: &DumpCtx<'_>, r: &Router, idx: usize) -> String {
    let inst = &r.instances()[idx];
    let cfg = inst.config();
    let m = c.model.vrrp.instance(&cfg.name);
    let mut o = Obj(Vec::new());
    let b = |x: bool| if x { "true" } else { "false" };
    let u = |x: bool| u8::from(x);
    o.str("iname", &cfg.name);
    o.raw(
        "dont_track_primary",
        u(m.is_some_and(|m| m.dont_track_primary)),
    );
    o.raw("skip_check_adv_addr", u(cfg.skip_check_adv_addr));
    o.raw("strict_mode", u(cfg.strict));
    let vmac_ifname = match (m.and_then(|m| m.vmac.as_ref()), &cfg.interface) {
        (Some(_), Some(i)) => i.as_str(),
        _ => "",
    };
    o.str("vmac_ifname", vmac_ifname);
    if let Some(i) = &cfg.interface {
        o.str("ifp_ifname", i);
    }
    o.raw("master_priority", inst.master_priority());
    let (s, us) = c.sys.wall(inst.last_transition());
    o.raw(
        "last_transition",
        format!("{:.6}", s as f64 + us as f64 / 1e6),
    );
    let g = &cfg.garp;
    o.raw("garp_delay", c_g(g.master_delay_us as f64 / 1e6));
    o.raw("garp_refresh", g.master_refresh_us / 1_000_000);
    o.raw("garp_rep", g.master_repeat);
    o.raw("garp_refresh_rep", g.master_refresh_repeat);
    o.raw("garp_lower_prio_delay", g.lower_prio_delay_us / 1_000_000);
    o.raw("garp_lower_prio_rep", g.lower_prio_repeat);
    o.raw("lower_prio_no_advert", u(cfg.lower_prio_no_advert));
    o.raw("higher_prio_send_advert", u(cfg.higher_prio_send_advert));
    o.raw("vrid", cfg.vrid);
    o.raw("base_priority", inst.base_priority());
    o.raw("effective_priority", inst.effective_priority());
    o.raw("vipset", b(inst.vips_set()));
    o.raw(
        "promote_secondaries",
        b(m.is_some_and(|m| m.promote_secondaries)),
    );
    o.raw("adver_int", c_g(cfg.adver_int_us as f64 / 1e6));
    o.raw(
        "master_adver_int",
        c_g(inst.master_adver_int_us() as f64 / 1e6),
    );
    o.raw("accept", u(cfg.accept));
    o.raw("nopreempt", b(cfg.nopreempt));
    o.raw("preempt_delay", cfg.preempt_delay_us / 1_000_000);
    o.raw("state", inst.state().number());
    o.raw("wantstate", super::vrrp::ka_wantstate(inst).number());
    o.raw("version", if cfg.version == Version::V3 { 3 } else { 2 });
    o.raw("smtp_alert", b(m.is_some_and(|m| m.smtp_alert)));
    o.raw("notify_deleted", b(cfg.notify_deleted));
    if let Some(m) = m {
        let n = &m.notify;
        for (k, s) in [
            ("script_backup", &n.backup),
            ("script_master", &n.master),
            ("script_fault", &n.fault),
            ("script_stop", &n.stop),
            ("script_deleted", n.deleted.as_ref().unwrap_or(&None)),
            ("script", &n.generic),
            ("script_master_rx_lower_pri", &n.master_rx_lower_pri),
        ] {
            if let Some(s) = s {
                o.str(k, &script_str(c, s));
            }
        }
    }
    let set = inst.vips_set();
    o.arr(
        "vips",
        cfg.vips
            .iter()
            .map(|v| format_vip(v, set, c.base_of(&v.dev)))
            .collect(),
    );
    o.arr(
        "evips",
        cfg.evips
            .iter()
            .map(|v| format_vip(v, set, c.base_of(&v.dev)))
            .collect(),
    );
    o.arr("vroutes", cfg.routes.iter().map(format_route).collect());
    o.arr("vrules", cfg.rules.iter().map(format_rule).collect());
    let own = cfg.interface.as_deref();
    let explicit_if = |n: &str| {
        m.is_some_and(|m| m.track_interfaces.iter().any(|t| t.name == n)) || Some(n) != own
    };
    o.arr(
        "track_ifp",
        cfg.tracks
            .iter()
            .filter_map(|t| match &t.target {
                Target::Interface(n) if explicit_if(n) => Some(n.clone()),
                _ => None,
            })
            .collect(),
    );
    o.arr(
        "track_script",
        cfg.tracks
            .iter()
            .filter_map(|t| match &t.target {
                Target::Script(id) => {
                    let name = &r.trackers().scripts.get(id.0 as usize)?.name;
                    let s = c.model.vrrp.script(name)?;
                    Some(script_str(c, &s.script))
                }
                _ => None,
            })
            .collect(),
    );
    o.raw("auth_type", cfg.auth.type_number());
    let pw = match &cfg.auth {
        Auth::None => None,
        Auth::Pass(p) => Some(*p),
        Auth::Ah(_) => m
            .and_then(|m| m.authentication.as_ref())
            .map(|a| a.password),
    };
    if let Some(p) = pw {
        let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
        o.str("auth_data", &String::from_utf8_lossy(&p[..end]));
    }
    o.render()
}

fn stats(r: &Router, idx: usize) -> String {
    let s = r.instances()[idx].stats();
    let mut o = Obj(Vec::new());
    o.raw("advert_rcvd", s.advert_rcvd);
    o.raw("advert_sent", s.advert_sent as u32);
    o.raw("become_master", s.become_master as u32);
    o.raw("release_master", s.release_master as u32);
    o.raw("packet_len_err", s.packet_len_err);
    o.raw("advert_interval_err", s.advert_interval_err);
    o.raw("ip_ttl_err", s.ip_ttl_err);
    o.raw("invalid_type_rcvd", s.invalid_type_rcvd);
    o.raw("addr_list_err", s.addr_list_err);
    o.raw("invalid_authtype", s.invalid_authtype as u32);
    o.raw("authtype_mismatch", s.authtype_mismatch as u32);
    o.raw("auth_failure", s.auth_failure as u32);
    o.raw("pri_zero_rcvd", s.pri_zero_rcvd);
    o.raw("pri_zero_sent", s.pri_zero_sent);
    o.render()
}

/// The whole keepalived.json (one line and a newline); `None` when there are no instances
/// (keepalived then writes no file).
pub fn json(c: &DumpCtx<'_>, r: &Router) -> Option<String> {
    if r.instances().is_empty() {
        return None;
    }
    let mut out = String::from("[");
    for i in 0..r.instances().len() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"data\":{},\"stats\":{}}}",
            data(c, r, i),
            stats(r, i)
        );
    }
    out.push_str("]\n");
    Some(out)
}
