#include "mapi/mapi_print.h"

#include <talloc.h>

struct mp_mapi_print_state {
	int unused; /* ROP state comes with the ROP codec */
};

struct mp_mapi_print_state *mp_mapi_print_state_new(void *mem)
{
	return talloc_zero(mem, struct mp_mapi_print_state);
}

void mp_mapi_print_call(struct mp_printer *p, const struct mp_mapi_call *call,
			const struct mp_mapi_call *request, const struct mp_mapi_print_state *st,
			bool rops)
{
	mp_mapi_print(p, call);
}

void mp_mapi_print_state_update(struct mp_mapi_print_state *st, const struct mp_mapi_call *request,
				const struct mp_mapi_call *response)
{
}
