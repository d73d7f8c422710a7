#include "transport/relay.h"

#include <errno.h>
#include <sys/socket.h>

void mp_relay_move(struct evbuffer *in, struct bufferevent *to, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(to);
	evutil_socket_t fd = bufferevent_getfd(to);
	if (fd >= 0 && evbuffer_get_length(out) == 0) {
		int w = evbuffer_write_atmost(in, fd, (ev_ssize_t)n);
		/* EAGAIN or an error: leave it to the bufferevent, which reports errors. */
		if (w > 0)
			n -= (size_t)w;
	}
	if (n)
		evbuffer_remove_buffer(in, out, n);
}

void mp_relay_write(struct bufferevent *to, const void *data, size_t len)
{
	evutil_socket_t fd = bufferevent_getfd(to);
	const char *p = data;
	if (fd >= 0 && evbuffer_get_length(bufferevent_get_output(to)) == 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
		}
	}
	if (len)
		bufferevent_write(to, p, len);
}
