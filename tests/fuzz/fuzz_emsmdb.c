/*
 * libFuzzer target: EMSMDB and AsyncEMSMDB call codecs (mapi/emsmdb).
 *
 * Input: <selector> <direction> <stub>. The selector is an EMSMDB opnum, or
 * 0x80 | opnum for AsyncEMSMDB; bit 0 of the direction byte picks request
 * or response. The checks are those of fuzz_call.h.
 */
#include "fuzz_call.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	enum mp_mapi_iface iface = data[0] & 0x80 ? MP_MAPI_ASYNCEMSMDB : MP_MAPI_EMSMDB;
	uint16_t opnum = data[0] & 0x7f;
	enum mp_call_dir dir = data[1] & 1 ? MP_CALL_RESPONSE : MP_CALL_REQUEST;
	fuzz_call(iface, opnum, dir, data + 2, size - 2);
	return 0;
}
