/* Moving relayed bytes from one connection's input to another's output. */
#ifndef MP_TRANSPORT_RELAY_H
#define MP_TRANSPORT_RELAY_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stddef.h>

/*
 * Move the first n bytes of `in` to the connection `to`. When nothing is
 * queued for `to`, write them to its socket at once: the common case costs
 * one writev instead of arming EV_WRITE, another trip through epoll_wait and
 * disarming it again. What the kernel does not take is queued as usual, so
 * ordering and error reporting stay with the bufferevent. Never copies.
 */
void mp_relay_move(struct evbuffer *in, struct bufferevent *to, size_t n);

/* The same for bytes we produced ourselves (resealed calls, local answers):
 * written at once when nothing is queued, the rest (copied) queued. */
void mp_relay_write(struct bufferevent *to, const void *data, size_t len);

#endif
