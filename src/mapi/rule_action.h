/*
 * Rule actions (MS-OXORULE 2.2.5): the RuleAction structure carried in
 * PidTagRuleActions (PtypRuleAction) of RopModifyRules and rules tables,
 * and in extended rules (PidTagExtendedRuleMessageActions).
 *
 * Standard buffers (ROP context) use 2-byte NoOfActions, ActionLength,
 * store/folder entry id sizes and recipient counts; extended buffers use
 * 4-byte ones, and their Move/Copy and Reply data have no FolderInThisStore
 * byte and carry entry ids instead of folder/message ids (MS-OXORULE
 * 2.2.5.1.2.1 and 2.2.5.1.2.2). The reader's context selects the form.
 *
 * Each ActionBlock is framed by its ActionLength, so ActionData that we
 * cannot decode (an unknown ActionType, or data that does not fill the
 * frame exactly) is kept as bytes and written back unchanged.
 */
#ifndef MP_MAPI_RULE_ACTION_H
#define MP_MAPI_RULE_ACTION_H

#include "mapi/propval.h"

enum mp_action_type {
	MP_OP_MOVE = 0x01,
	MP_OP_COPY = 0x02,
	MP_OP_REPLY = 0x03,
	MP_OP_OOF_REPLY = 0x04,
	MP_OP_DEFER_ACTION = 0x05,
	MP_OP_BOUNCE = 0x06,
	MP_OP_FORWARD = 0x07,
	MP_OP_DELEGATE = 0x08,
	MP_OP_TAG = 0x09,
	MP_OP_DELETE = 0x0A,
	MP_OP_MARK_AS_READ = 0x0B,
};

/* RecipientBlockData (MS-OXORULE 2.2.5.1.2.4.1). */
struct mp_recipient_block {
	uint8_t reserved;
	uint32_t count;
	struct mp_tagged_pv *vals;
};

struct mp_action_block {
	uint8_t type;
	uint32_t flavor;
	uint32_t flags;
	bool parsed;        /* `u` holds the decoded ActionData */
	struct mp_bin data; /* ActionData bytes as received (always set) */
	union {
		struct {
			uint8_t in_this_store; /* standard form only */
			struct mp_bin store_eid;
			struct mp_bin folder_eid;
		} movecopy;
		struct {
			uint64_t fid;
			uint64_t mid;
			uint8_t guid[16];
		} reply; /* standard form */
		struct {
			struct mp_bin msg_eid;
			uint8_t guid[16];
		} ext_reply; /* extended form */
		uint32_t bounce;
		struct {
			uint32_t count;
			struct mp_recipient_block *blocks;
		} fwd; /* Forward, Delegate */
		struct mp_tagged_pv tag;
	} u;
};

struct mp_rule_actions {
	bool extended; /* decoded from an extended buffer (for printing) */
	uint32_t count;
	struct mp_action_block *blocks;
};

int mp_rule_actions_read(struct mp_pv_rd *rd, struct mp_rule_actions *out);
/* ActionLength is recomputed from the data written, which is the length
 * received whenever the block was decoded exactly. */
int mp_rule_actions_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_rule_actions *a);
void mp_rule_actions_print(struct mp_printer *p, const char *name, const struct mp_rule_actions *a);

/* "OP_MOVE", ... or NULL. */
const char *mp_action_type_name(uint8_t type);

#endif
