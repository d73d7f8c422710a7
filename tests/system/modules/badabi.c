/* Test module: claims a future ABI major; the loader must refuse it. */
#include <mapiproxy/module.h>

MP_MODULE_EXPORT = {
	.abi = (uint32_t)((MP_MODULE_ABI_MAJOR + 1) << 16),
	.name = "badabi",
	.description = "test: wrong ABI",
	.endpoint = MP_ENDPOINT_ANY,
};
