/* The daemon: listeners, signals, the port cache and the event loop. */
#include "proxy/proxy.h"
#include "util/log.h"
#include "util/status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT_CACHE_TTL 300 /* seconds: Samba and Exchange keep ports for their lifetime */

uint16_t mp_proxy_cached_port(struct mp_proxy *px, const struct mp_syntax *iface)
{
	time_t now = time(NULL);
	for (unsigned i = 0; i < px->n_port_cache; i++)
		if (mp_syntax_equal(&px->port_cache[i].iface, iface) &&
		    now - px->port_cache[i].at < PORT_CACHE_TTL)
			return px->port_cache[i].port;
	return 0;
}

void mp_proxy_cache_port(struct mp_proxy *px, const struct mp_syntax *iface, uint16_t port)
{
	unsigned slot = px->n_port_cache;
	for (unsigned i = 0; i < px->n_port_cache; i++)
		if (mp_syntax_equal(&px->port_cache[i].iface, iface))
			slot = i;
	if (slot == MP_PORT_CACHE)
		slot = 0; /* full: overwrite the oldest-inserted slot */
	if (slot == px->n_port_cache)
		px->n_port_cache++;
	px->port_cache[slot].iface = *iface;
	px->port_cache[slot].port = port;
	px->port_cache[slot].at = time(NULL);
}

void mp_proxy_uncache_port(struct mp_proxy *px, const struct mp_syntax *iface)
{
	for (unsigned i = 0; i < px->n_port_cache; i++)
		if (mp_syntax_equal(&px->port_cache[i].iface, iface))
			px->port_cache[i].at = 0;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		      void *arg)
{
	(void)l;
	mp_session_accept(arg, fd, sa, len);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)arg;
	(void)l;
	int err = EVUTIL_SOCKET_ERROR();
	mp_err("accept failed: %s", evutil_socket_error_to_string(err));
}

static int add_listener(struct mp_proxy *px, uint16_t port)
{
	for (unsigned i = 0; i < px->n_listeners; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getsockname(evconnlistener_get_fd(px->listeners[i]), (struct sockaddr *)&ss,
				&sl) == 0 &&
		    ntohs(((struct sockaddr_in *)&ss)->sin_port) == port)
			return MP_OK; /* already listening there */
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST};
	struct addrinfo *ai = NULL;
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", port);
	int gai = getaddrinfo(px->conf.listen, portstr, &hints, &ai);
	if (gai) {
		mp_err("mapiproxy:listen = %s: not a numeric IPv4/IPv6 address (%s)",
		       px->conf.listen, gai_strerror(gai));
		return MP_ERR_CONFIG;
	}
	struct evconnlistener *l = evconnlistener_new_bind(
		px->base, accept_cb, px,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 512,
		ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (!l) {
		mp_err("cannot listen on %s port %u: %s%s", px->conf.listen, port, strerror(errno),
		       errno == EADDRINUSE ? " (another process holds the port: change "
					     "mapiproxy:port / mapiproxy:epm port)"
		       : errno == EACCES   ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
					   : "");
		return MP_ERR_IO;
	}
	evconnlistener_set_error_cb(l, accept_error_cb);
	px->listeners[px->n_listeners++] = l;
	mp_info("listening on %s port %u", px->conf.listen, port);
	return MP_OK;
}

static void close_listeners(struct mp_proxy *px)
{
	for (unsigned i = 0; i < px->n_listeners; i++)
		evconnlistener_free(px->listeners[i]);
	px->n_listeners = 0;
}

void mp_proxy_session_gone(struct mp_proxy *px)
{
	if (px->draining && px->n_sessions == 0)
		event_base_loopexit(px->base, NULL);
}

static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct mp_proxy *px = arg;
	mp_warn("drain timeout: closing %u session(s) with calls in flight", px->n_sessions);
	for (struct mp_session *s = px->sessions; s; s = s->next)
		mp_session_close(s, "drain timeout");
	event_base_loopexit(px->base, NULL);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct mp_proxy *px = arg;
	if (px->draining) {
		mp_warn("second signal: exiting now");
		event_base_loopexit(px->base, NULL);
		return;
	}
	mp_info("%s: no new connections; draining %u session(s)",
		sig == SIGTERM ? "SIGTERM" : "SIGINT", px->n_sessions);
	px->draining = true;
	close_listeners(px);
	/* Calls parked in server modules (EcDoAsyncWaitEx) are answered now:
	 * otherwise they would hold the drain until its timeout. */
	mp_local_drain(px);
	struct mp_session *next;
	for (struct mp_session *s = px->sessions; s; s = next) {
		next = s->next;
		mp_session_drain(s);
	}
	if (px->n_sessions == 0) {
		event_base_loopexit(px->base, NULL);
		return;
	}
	struct timeval tv = {.tv_sec = px->conf.drain_timeout};
	px->drain_timer = evtimer_new(px->base, drain_timeout_cb, px);
	if (px->drain_timer)
		evtimer_add(px->drain_timer, &tv);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct mp_proxy *px = arg;
	int rc = mp_log_reopen();
	if (rc < 0)
		mp_err("SIGHUP: cannot reopen log file: %s", strerror(-rc));
	else
		mp_info("SIGHUP: log file reopened");
	if (px->conf.dump_json[0] && (rc = mp_dump_open(&px->conf)) < 0)
		mp_err("SIGHUP: cannot reopen mpm_dump:json file %s: %s", px->conf.dump_json,
		       strerror(-rc));
}

static int resolve_upstream(struct mp_proxy *px)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	int gai = getaddrinfo(px->conf.upstream.host, NULL, &hints, &ai);
	if (gai) {
		mp_err("dcerpc_mapiproxy:binding: cannot resolve '%s': %s",
		       px->conf.upstream.host, gai_strerror(gai));
		return MP_ERR_CONFIG;
	}
	memcpy(&px->up_addr, ai->ai_addr, ai->ai_addrlen);
	px->up_addrlen = ai->ai_addrlen;
	char host[64] = "?";
	if (ai->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, host,
			  sizeof(host));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, host,
			  sizeof(host));
	snprintf(px->up_addr_text, sizeof(px->up_addr_text), "%s", host);
	freeaddrinfo(ai);
	return MP_OK;
}

int mp_proxy_run(const struct mp_proxy_conf *conf)
{
	struct mp_proxy *px = calloc(1, sizeof(*px));
	int code = 1;
	if (!px)
		return 1;
	px->conf = *conf;
	px->next_assoc = 0x10000;
	signal(SIGPIPE, SIG_IGN);
	px->base = event_base_new();
	if (!px->base || (px->conf.has_upstream && resolve_upstream(px) != MP_OK))
		goto out;
	mp_local_start(px);
	if (px->conf.user_db[0]) {
		char err[512];
		if (mp_userdb_load(&px->users, px->conf.user_db, err, sizeof(err)) != MP_OK) {
			mp_err("mapiproxy:user db: %s", err);
			goto out;
		}
		mp_info("user db %s: %zu user(s)", px->conf.user_db, mp_userdb_count(px->users));
	}
	if (px->conf.dump) {
		int rc = mp_dump_open(&px->conf);
		if (rc < 0) {
			mp_err("mpm_dump:json file %s: %s (check the directory and permissions)",
			       px->conf.dump_json, strerror(-rc));
			goto out;
		}
		mp_info("dump: decoded EMSMDB/NSPI/RFR calls on the log%s%s%s",
			px->conf.dump_json[0] ? " and as JSON lines in " : "", px->conf.dump_json,
			px->conf.dump_rops ? " (with ROPs)" : "");
	}

	/* Signals first: a client (or a test) may signal as soon as a port accepts. */
	px->ev_term = evsignal_new(px->base, SIGTERM, on_term, px);
	px->ev_int = evsignal_new(px->base, SIGINT, on_term, px);
	px->ev_hup = evsignal_new(px->base, SIGHUP, on_hup, px);
	if (!px->ev_term || !px->ev_int || !px->ev_hup)
		goto out;
	evsignal_add(px->ev_term, NULL);
	evsignal_add(px->ev_int, NULL);
	evsignal_add(px->ev_hup, NULL);

	if (px->conf.epm_port && add_listener(px, px->conf.epm_port) != MP_OK)
		goto out;
	if (add_listener(px, px->conf.port) != MP_OK)
		goto out;
	for (size_t i = 0; i < px->conf.n_ifaces; i++)
		if (add_listener(px, px->conf.ifaces[i].port) != MP_OK)
			goto out;


	size_t served = 0;
	for (size_t i = 0; i < px->conf.n_ifaces; i++)
		served += px->conf.ifaces[i].server != NULL;
	if (px->conf.has_upstream) {
		char b[400];
		mp_binding_format(&px->conf.upstream, b, sizeof(b));
		mp_info("mapiproxy ready: relaying %zu interface(s) to %s (%s), serving %zu here",
			px->conf.n_ifaces - served, b, px->up_addr_text, served);
	} else {
		mp_info("mapiproxy ready: serving %zu interface(s) here as %s", served,
			px->conf.fqdn);
	}
	event_base_dispatch(px->base);
	code = 0;
	mp_info("mapiproxy stopped");
out:
	close_listeners(px);
	while (px->sessions) /* only after a drain timeout */
		mp_session_free(px->sessions);
	if (px->ev_term)
		event_free(px->ev_term);
	if (px->ev_int)
		event_free(px->ev_int);
	if (px->ev_hup)
		event_free(px->ev_hup);
	if (px->drain_timer)
		event_free(px->drain_timer);
	mp_local_stop();
	if (px->base)
		event_base_free(px->base);
	mp_userdb_free(px->users);
	mp_dump_close();
	mp_proxy_conf_wipe(&px->conf);
	free(px);
	return code;
}
