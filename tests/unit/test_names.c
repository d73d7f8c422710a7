/* Unit tests: mapi/names (ROP, call, property tag and type, error names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mapi/names.h"
#include "mapi/names_tables.h"

#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void assert_name(const char *got, const char *want)
{
	if (!want) {
		if (got)
			fail_msg("expected no name, got \"%s\"", got);
		return;
	}
	if (!got)
		fail_msg("expected \"%s\", got NULL", want);
	assert_string_equal(got, want);
}

/* ------------------------------------------------------------------ */
/* ROPs: the table of MS-OXCROPS section 2.2 (ROP id, name), typed here */
/* independently of src/mapi/names.h.                                  */
/* ------------------------------------------------------------------ */

static const struct {
	uint8_t id;
	const char *name;
} spec_rops[] = {
	{0x01, "RopRelease"},
	{0x02, "RopOpenFolder"},
	{0x03, "RopOpenMessage"},
	{0x04, "RopGetHierarchyTable"},
	{0x05, "RopGetContentsTable"},
	{0x06, "RopCreateMessage"},
	{0x07, "RopGetPropertiesSpecific"},
	{0x08, "RopGetPropertiesAll"},
	{0x09, "RopGetPropertiesList"},
	{0x0A, "RopSetProperties"},
	{0x0B, "RopDeleteProperties"},
	{0x0C, "RopSaveChangesMessage"},
	{0x0D, "RopRemoveAllRecipients"},
	{0x0E, "RopModifyRecipients"},
	{0x0F, "RopReadRecipients"},
	{0x10, "RopReloadCachedInformation"},
	{0x11, "RopSetMessageReadFlag"},
	{0x12, "RopSetColumns"},
	{0x13, "RopSortTable"},
	{0x14, "RopRestrict"},
	{0x15, "RopQueryRows"},
	{0x16, "RopGetStatus"},
	{0x17, "RopQueryPosition"},
	{0x18, "RopSeekRow"},
	{0x19, "RopSeekRowBookmark"},
	{0x1A, "RopSeekRowFractional"},
	{0x1B, "RopCreateBookmark"},
	{0x1C, "RopCreateFolder"},
	{0x1D, "RopDeleteFolder"},
	{0x1E, "RopDeleteMessages"},
	{0x1F, "RopGetMessageStatus"},
	{0x20, "RopSetMessageStatus"},
	{0x21, "RopGetAttachmentTable"},
	{0x22, "RopOpenAttachment"},
	{0x23, "RopCreateAttachment"},
	{0x24, "RopDeleteAttachment"},
	{0x25, "RopSaveChangesAttachment"},
	{0x26, "RopSetReceiveFolder"},
	{0x27, "RopGetReceiveFolder"},
	{0x29, "RopRegisterNotification"},
	{0x2A, "RopNotify"},
	{0x2B, "RopOpenStream"},
	{0x2C, "RopReadStream"},
	{0x2D, "RopWriteStream"},
	{0x2E, "RopSeekStream"},
	{0x2F, "RopSetStreamSize"},
	{0x30, "RopSetSearchCriteria"},
	{0x31, "RopGetSearchCriteria"},
	{0x32, "RopSubmitMessage"},
	{0x33, "RopMoveCopyMessages"},
	{0x34, "RopAbortSubmit"},
	{0x35, "RopMoveFolder"},
	{0x36, "RopCopyFolder"},
	{0x37, "RopQueryColumnsAll"},
	{0x38, "RopAbort"},
	{0x39, "RopCopyTo"},
	{0x3A, "RopCopyToStream"},
	{0x3B, "RopCloneStream"},
	{0x3E, "RopGetPermissionsTable"},
	{0x3F, "RopGetRulesTable"},
	{0x40, "RopModifyPermissions"},
	{0x41, "RopModifyRules"},
	{0x42, "RopGetOwningServers"},
	{0x43, "RopLongTermIdFromId"},
	{0x44, "RopIdFromLongTermId"},
	{0x45, "RopPublicFolderIsGhosted"},
	{0x46, "RopOpenEmbeddedMessage"},
	{0x47, "RopSetSpooler"},
	{0x48, "RopSpoolerLockMessage"},
	{0x49, "RopGetAddressTypes"},
	{0x4A, "RopTransportSend"},
	{0x4B, "RopFastTransferSourceCopyMessages"},
	{0x4C, "RopFastTransferSourceCopyFolder"},
	{0x4D, "RopFastTransferSourceCopyTo"},
	{0x4E, "RopFastTransferSourceGetBuffer"},
	{0x4F, "RopFindRow"},
	{0x50, "RopProgress"},
	{0x51, "RopTransportNewMail"},
	{0x52, "RopGetValidAttachments"},
	{0x53, "RopFastTransferDestinationConfigure"},
	{0x54, "RopFastTransferDestinationPutBuffer"},
	{0x55, "RopGetNamesFromPropertyIds"},
	{0x56, "RopGetPropertyIdsFromNames"},
	{0x57, "RopUpdateDeferredActionMessages"},
	{0x58, "RopEmptyFolder"},
	{0x59, "RopExpandRow"},
	{0x5A, "RopCollapseRow"},
	{0x5B, "RopLockRegionStream"},
	{0x5C, "RopUnlockRegionStream"},
	{0x5D, "RopCommitStream"},
	{0x5E, "RopGetStreamSize"},
	{0x5F, "RopQueryNamedProperties"},
	{0x60, "RopGetPerUserLongTermIds"},
	{0x61, "RopGetPerUserGuid"},
	{0x63, "RopReadPerUserInformation"},
	{0x64, "RopWritePerUserInformation"},
	{0x66, "RopSetReadFlags"},
	{0x67, "RopCopyProperties"},
	{0x68, "RopGetReceiveFolderTable"},
	{0x69, "RopFastTransferSourceCopyProperties"},
	{0x6B, "RopGetCollapseState"},
	{0x6C, "RopSetCollapseState"},
	{0x6D, "RopGetTransportFolder"},
	{0x6E, "RopPending"},
	{0x6F, "RopOptionsData"},
	{0x70, "RopSynchronizationConfigure"},
	{0x72, "RopSynchronizationImportMessageChange"},
	{0x73, "RopSynchronizationImportHierarchyChange"},
	{0x74, "RopSynchronizationImportDeletes"},
	{0x75, "RopSynchronizationUploadStateStreamBegin"},
	{0x76, "RopSynchronizationUploadStateStreamContinue"},
	{0x77, "RopSynchronizationUploadStateStreamEnd"},
	{0x78, "RopSynchronizationImportMessageMove"},
	{0x79, "RopSetPropertiesNoReplicate"},
	{0x7A, "RopDeletePropertiesNoReplicate"},
	{0x7B, "RopGetStoreState"},
	{0x7E, "RopSynchronizationOpenCollector"},
	{0x7F, "RopGetLocalReplicaIds"},
	{0x80, "RopSynchronizationImportReadStateChanges"},
	{0x81, "RopResetTable"},
	{0x82, "RopSynchronizationGetTransferState"},
	{0x86, "RopTellVersion"},
	{0x89, "RopFreeBookmark"},
	{0x90, "RopWriteAndCommitStream"},
	{0x91, "RopHardDeleteMessages"},
	{0x92, "RopHardDeleteMessagesAndSubfolders"},
	{0x93, "RopSetLocalReplicaMidsetDeleted"},
	{0x9D, "RopFastTransferDestinationPutBufferExtended"},
	{0xA3, "RopWriteStreamExtended"},
	{0xF9, "RopBackoff"},
	{0xFE, "RopLogon"},
	{0xFF, "RopBufferTooSmall"},
};

static void test_every_spec_rop_is_named(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(spec_rops); i++)
		assert_name(mp_rop_name(spec_rops[i].id), spec_rops[i].name);
	/* And nothing else: every other id is unknown. */
	size_t named = 0;
	for (unsigned id = 0; id < 256; id++)
		if (mp_rop_name((uint8_t)id))
			named++;
	assert_int_equal(named, ARRAY_LEN(spec_rops));
	assert_null(mp_rop_name(0x00));
	assert_null(mp_rop_name(0x28));
	assert_null(mp_rop_name(0x3C));
	assert_null(mp_rop_name(0x62));
	assert_null(mp_rop_name(0xFA));
	/* The enum agrees with the names. */
	assert_int_equal(MP_ROP_LOGON, 0xFE);
	assert_int_equal(MP_ROP_OPEN_FOLDER, 0x02);
	assert_int_equal(MP_ROP_FAST_TRANSFER_DESTINATION_PUT_BUFFER_EXTENDED, 0x9D);
}

static void test_call_names(void **state)
{
	assert_name(mp_emsmdb_call_name(0), "EcDoConnect");
	assert_name(mp_emsmdb_call_name(1), "EcDoDisconnect");
	assert_name(mp_emsmdb_call_name(2), "EcDoRpc");
	assert_name(mp_emsmdb_call_name(4), "EcRRegisterPushNotification");
	assert_name(mp_emsmdb_call_name(6), "EcDummyRpc");
	assert_name(mp_emsmdb_call_name(10), "EcDoConnectEx");
	assert_name(mp_emsmdb_call_name(11), "EcDoRpcExt2");
	assert_name(mp_emsmdb_call_name(14), "EcDoAsyncConnectEx");
	assert_null(mp_emsmdb_call_name(15));
	assert_null(mp_emsmdb_call_name(0xFFFF));
	assert_name(mp_asyncemsmdb_call_name(0), "EcDoAsyncWaitEx");
	assert_null(mp_asyncemsmdb_call_name(1));

	/* MS-OXNSPI 3.1.4: opnums 0-20. */
	static const char *const nspi[] = {
		"NspiBind", "NspiUnbind", "NspiUpdateStat", "NspiQueryRows", "NspiSeekEntries",
		"NspiGetMatches", "NspiResortRestriction", "NspiDNToMId", "NspiGetPropList",
		"NspiGetProps", "NspiCompareMIds", "NspiModProps", "NspiGetSpecialTable",
		"NspiGetTemplateInfo", "NspiModLinkAtt", "NspiDeleteEntries", "NspiQueryColumns",
		"NspiGetNamesFromIDs", "NspiGetIDsFromNames", "NspiResolveNames",
		"NspiResolveNamesW",
	};
	for (uint16_t op = 0; op < ARRAY_LEN(nspi); op++)
		assert_name(mp_nspi_call_name(op), nspi[op]);
	assert_null(mp_nspi_call_name(21));

	assert_name(mp_rfr_call_name(0), "RfrGetNewDSA");
	assert_name(mp_rfr_call_name(1), "RfrGetFQDNFromServerDN");
	assert_null(mp_rfr_call_name(2));
}

/* ------------------------------------------------------------------ */
/* Property tags: MS-OXPROPS values (ID, type, canonical name) and the  */
/* PR_ names clients and OpenChange use.                               */
/* ------------------------------------------------------------------ */

static const struct {
	uint32_t tag;
	const char *pidtag;
	const char *pr;
} spec_tags[] = {
	{0x0037001F, "PidTagSubject", "PR_SUBJECT_UNICODE"},
	{0x0037001E, "PidTagSubject", "PR_SUBJECT"},
	{0x001A001F, "PidTagMessageClass", "PR_MESSAGE_CLASS_UNICODE"},
	{0x00170003, "PidTagImportance", "PR_IMPORTANCE"},
	{0x0E070003, "PidTagMessageFlags", "PR_MESSAGE_FLAGS"},
	{0x0E080003, "PidTagMessageSize", "PR_MESSAGE_SIZE"},
	{0x0E1B000B, "PidTagHasAttachments", "PR_HASATTACH"},
	{0x0FFF0102, "PidTagEntryId", "PR_ENTRYID"},
	{0x0FF40003, "PidTagAccess", "PR_ACCESS"},
	{0x1000001F, "PidTagBody", "PR_BODY_UNICODE"},
	{0x10130102, "PidTagHtml", "PR_HTML"},
	{0x0C1F001F, "PidTagSenderEmailAddress", "PR_SENDER_EMAIL_ADDRESS_UNICODE"},
	{0x0C150003, "PidTagRecipientType", "PR_RECIPIENT_TYPE"},
	{0x3001001F, "PidTagDisplayName", "PR_DISPLAY_NAME_UNICODE"},
	{0x3001001E, "PidTagDisplayName", "PR_DISPLAY_NAME"},
	{0x30070040, "PidTagCreationTime", "PR_CREATION_TIME"},
	{0x30080040, "PidTagLastModificationTime", "PR_LAST_MODIFICATION_TIME"},
	{0x36020003, "PidTagContentCount", "PR_CONTENT_COUNT"},
	{0x3613001F, "PidTagContainerClass", "PR_CONTAINER_CLASS_UNICODE"},
	{0x36D81102, "PidTagAdditionalRenEntryIds", "PR_ADDITIONAL_REN_ENTRYIDS"},
	{0x39FE001F, "PidTagSmtpAddress", "PR_SMTP_ADDRESS_UNICODE"},
	{0x3A00001F, "PidTagAccount", "PR_ACCOUNT_UNICODE"},
	{0x3A4D0002, "PidTagGender", "PR_GENDER"},
	{0x3FDE0003, "PidTagInternetCodepage", "PR_INTERNET_CPID"},
	{0x33020048, "PidTagFormClassId", "PR_FORM_CLSID"},
	{0x65E20102, "PidTagChangeKey", "PR_CHANGE_KEY"},
	{0x65E30102, "PidTagPredecessorChangeList", "PR_PREDECESSOR_CHANGE_LIST"},
	{0x661B0102, "PidTagMailboxOwnerEntryId", "PR_MAILBOX_OWNER_ENTRYID"},
	{0x667900FD, "PidTagRuleCondition", "PR_RULE_CONDITION"},
	{0x668000FE, "PidTagRuleActions", "PR_RULE_ACTIONS"},
	{0x674000FB, "PidTagSentMailSvrEID", "PR_SENT_MAILSVR_EID"},
	{0x67480014, "PidTagFolderId", "PR_FID"},
	{0x674A0014, "PidTagMid", "PR_MID"},
	{0x67AA000B, "PidTagAssociated", "PR_ASSOCIATED"},
	{0x68511003, "PidTagScheduleInfoMonthsTentative", "PR_SCHDINFO_MONTHS_TENTATIVE"},
	/* Address book (MS-OXOABK), as NSPI carries them. */
	{0x8170101F, "PidTagAddressBookNetworkAddress", "PR_EMS_AB_NETWORK_ADDRESS_UNICODE"},
	{0x8170101E, "PidTagAddressBookNetworkAddress", "PR_EMS_AB_NETWORK_ADDRESS"},
	{0x8006001E, "PidTagAddressBookHomeMessageDatabase", "PR_EMS_AB_HOME_MDB"},
	{0x8006000D, "PidTagAddressBookHomeMessageDatabase", "PR_EMS_AB_HOME_MDB_O"},
	{0x800F101F, "PidTagAddressBookProxyAddresses", "PR_EMS_AB_PROXY_ADDRESSES_UNICODE"},
};

static void test_proptag_names(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(spec_tags); i++) {
		assert_name(mp_proptag_name(spec_tags[i].tag), spec_tags[i].pidtag);
		assert_name(mp_proptag_pr_name(spec_tags[i].tag), spec_tags[i].pr);
		assert_non_null(mp_propid_name((uint16_t)(spec_tags[i].tag >> 16)));
	}
	assert_name(mp_propid_name(0x0037), "PidTagSubject");
	assert_name(mp_propid_name(0x3001), "PidTagDisplayName");
	assert_name(mp_propid_name(0x8170), "PidTagAddressBookNetworkAddress");
	/* The canonical name follows the ID when the type is unexpected (a
	 * PtypErrorCode in place of the value); the PR_ name does not. */
	assert_name(mp_proptag_name(0x0037000A), "PidTagSubject");
	assert_null(mp_proptag_pr_name(0x0037000A));
	/* One ID, two properties told apart by type (MS-OXPROPS 0x0004). */
	assert_name(mp_proptag_name(0x0004001F), "PidTagAutoForwardComment");
	assert_name(mp_proptag_name(0x00040102), "PidTagScriptData");
	assert_name(mp_proptag_name(0x1013001F), "PidTagBodyHtml");
	assert_name(mp_proptag_name(0x10130102), "PidTagHtml");
	/* Unknown. */
	assert_null(mp_proptag_name(0x7FF00003));
	assert_null(mp_proptag_pr_name(0x7FF00003));
	assert_null(mp_propid_name(0x7FF0));
	assert_null(mp_propid_name(0xFFFF));
}

static void test_proptype_names(void **state)
{
	static const struct {
		uint16_t type;
		const char *ptyp;
		const char *pt;
	} types[] = {
		{0x0000, "PtypUnspecified", "PT_UNSPECIFIED"},
		{0x0001, "PtypNull", "PT_NULL"},
		{0x0002, "PtypInteger16", "PT_I2"},
		{0x0003, "PtypInteger32", "PT_LONG"},
		{0x0004, "PtypFloating32", "PT_FLOAT"},
		{0x0005, "PtypFloating64", "PT_DOUBLE"},
		{0x0006, "PtypCurrency", "PT_CURRENCY"},
		{0x0007, "PtypFloatingTime", "PT_APPTIME"},
		{0x000A, "PtypErrorCode", "PT_ERROR"},
		{0x000B, "PtypBoolean", "PT_BOOLEAN"},
		{0x000D, "PtypObject", "PT_OBJECT"},
		{0x0014, "PtypInteger64", "PT_I8"},
		{0x001E, "PtypString8", "PT_STRING8"},
		{0x001F, "PtypString", "PT_UNICODE"},
		{0x0040, "PtypTime", "PT_SYSTIME"},
		{0x0048, "PtypGuid", "PT_CLSID"},
		{0x00FB, "PtypServerId", "PT_SVREID"},
		{0x00FD, "PtypRestriction", "PT_SRESTRICTION"},
		{0x00FE, "PtypRuleAction", "PT_ACTIONS"},
		{0x0102, "PtypBinary", "PT_BINARY"},
		{0x1002, "PtypMultipleInteger16", "PT_MV_I2"},
		{0x1003, "PtypMultipleInteger32", "PT_MV_LONG"},
		{0x1004, "PtypMultipleFloating32", "PT_MV_FLOAT"},
		{0x1005, "PtypMultipleFloating64", "PT_MV_DOUBLE"},
		{0x1006, "PtypMultipleCurrency", "PT_MV_CURRENCY"},
		{0x1007, "PtypMultipleFloatingTime", "PT_MV_APPTIME"},
		{0x1014, "PtypMultipleInteger64", "PT_MV_I8"},
		{0x101E, "PtypMultipleString8", "PT_MV_STRING8"},
		{0x101F, "PtypMultipleString", "PT_MV_UNICODE"},
		{0x1040, "PtypMultipleTime", "PT_MV_SYSTIME"},
		{0x1048, "PtypMultipleGuid", "PT_MV_CLSID"},
		{0x1102, "PtypMultipleBinary", "PT_MV_BINARY"},
	};
	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		assert_name(mp_proptype_name(types[i].type), types[i].ptyp);
		assert_name(mp_proptype_pt_name(types[i].type), types[i].pt);
	}
	/* The X-macro lists every type once, sorted (names.c searches it). */
	static const uint16_t listed[] = {
#define TYPE_VALUE(v, ptyp, pt) v,
		MP_PROPTYPES(TYPE_VALUE)
#undef TYPE_VALUE
	};
	assert_int_equal(ARRAY_LEN(listed), ARRAY_LEN(types));
	for (size_t i = 1; i < ARRAY_LEN(listed); i++)
		assert_true(listed[i - 1] < listed[i]);
	assert_null(mp_proptype_name(0x0008));
	assert_null(mp_proptype_name(0x0103));
	assert_null(mp_proptype_name(0x3003)); /* MV instance bit: caller masks it */
	assert_null(mp_proptype_pt_name(0xFFFF));
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static void test_error_names(void **state)
{
	static const struct {
		uint32_t code;
		const char *name, *mapi, *spec;
	} errs[] = {
		{0x00000000, "ecNone", "S_OK", "Success"},
		{0x80004005, "ecError", "MAPI_E_CALL_FAILED", "GeneralFailure"},
		{0x8004010F, "ecNotFound", "MAPI_E_NOT_FOUND", "NotFound"},
		{0x80040111, "ecLoginFailure", "MAPI_E_LOGON_FAILED", "LogonFailed"},
		{0x80070005, "ecAccessDenied", "MAPI_E_NO_ACCESS", "AccessDenied"},
		{0x80070057, "ecInvalidParam", "MAPI_E_INVALID_PARAMETER", "InvalidParameter"},
		{0x80040115, "ecRpcFailed", "MAPI_E_NETWORK_ERROR", "NetworkError"},
		{0x80040301, "ecPropBadValue", "MAPI_E_BAD_VALUE", "BadValue"},
		{0x80030005, "StorageAccessDenied", "STG_E_ACCESSDENIED", "StorageAccessDenied"},
		{0x80040802, "SyncConflict", "SYNC_E_CONFLICT", "SyncConflict"},
		{0x000003EB, "ecUnknownUser", NULL, "UnknownUser"},
		{0x00000478, "ecWrongServer", NULL, "WrongServer"},
		{0x0000047D, "ecBufferTooSmall", NULL, "BufferTooSmall"},
		{0x000004B6, "ecRpcFormat", NULL, "RpcFormat"},
		{0x000004B9, "ecNullObject", NULL, "NullObject"},
		{0x0000050C, "ecMailboxInTransit", NULL, "MailboxInTransit"},
		{0x0000096C, "ecMailboxDisabled", NULL, "MailboxDisabled"},
		{0x00000970, "ecNotEncrypted", NULL, "NotEncrypted"},
		{0x000004DF, "ecClientVerDisallowed", NULL, "ClientVersionBlocked"},
		/* Warnings (MS-OXCDATA 2.4.3). */
		{0x00040380, "ecWarnWithErrors", "MAPI_W_ERRORS_RETURNED", "ErrorsReturned"},
		{0x00040481, "ecWarnPositionChanged", "MAPI_W_POSITION_CHANGED", "PositionChanged"},
		{0x00040820, "SyncProgress", "SYNC_W_PROGRESS", "SyncProgress"},
	};
	for (size_t i = 0; i < ARRAY_LEN(errs); i++) {
		assert_name(mp_error_name(errs[i].code), errs[i].name);
		assert_name(mp_error_mapi_name(errs[i].code), errs[i].mapi);
		assert_name(mp_error_spec_name(errs[i].code), errs[i].spec);
	}
	/* In no MS-OXCDATA table but in the SDK. */
	assert_name(mp_error_name(0x8004060C), "MAPI_E_STORE_FULL");
	assert_null(mp_error_spec_name(0x8004060C));
	/* Unknown. */
	assert_null(mp_error_name(0x12345678));
	assert_null(mp_error_mapi_name(0x12345678));
	assert_null(mp_error_spec_name(0x12345678));
}

/* Every return value MS-OXNSPI 2.2.1.2 permits has a name (NotEnoughMemory
 * shares 0x8007000E with the general OutOfMemory row, which wins). */
static void test_nspi_return_values(void **state)
{
	static const struct {
		uint32_t code;
		const char *spec;
	} nspi[] = {
		{0x00000000, "Success"},	 {0x00000001, "UnbindSuccess"},
		{0x00000002, "UnbindFailure"},	 {0x00040380, "ErrorsReturned"},
		{0x80004005, "GeneralFailure"},	 {0x80040102, "NotSupported"},
		{0x80040108, "InvalidObject"},	 {0x8004010E, "OutOfResources"},
		{0x8004010F, "NotFound"},	 {0x80040111, "LogonFailed"},
		{0x80040117, "TooComplex"},	 {0x8004011E, "InvalidCodepage"},
		{0x8004011F, "InvalidLocale"},	 {0x80040403, "TableTooBig"},
		{0x80040405, "InvalidBookmark"}, {0x80070005, "AccessDenied"},
		{0x8007000E, "OutOfMemory"},	 {0x80070057, "InvalidParameter"},
	};
	for (size_t i = 0; i < ARRAY_LEN(nspi); i++) {
		assert_name(mp_error_spec_name(nspi[i].code), nspi[i].spec);
		assert_non_null(mp_error_name(nspi[i].code));
	}
}

static void test_rpc_status_names(void **state)
{
	assert_name(mp_rpc_status_name(0x1C010002), "nca_s_op_rng_error");
	assert_name(mp_rpc_status_name(0x1C010003), "nca_s_unk_if");
	assert_name(mp_rpc_status_name(0x1C00001C), "nca_s_invalid_pres_context_id");
	assert_name(mp_rpc_status_name(0x000006F7), "RPC_X_BAD_STUB_DATA");
	assert_name(mp_rpc_status_name(0x000006BA), "RPC_S_SERVER_UNAVAILABLE");
	assert_name(mp_rpc_status_name(0x00000005), "RPC_S_ACCESS_DENIED");
	/* mp_error_name falls back to RPC status names... */
	assert_name(mp_error_name(0x1C010002), "nca_s_op_rng_error");
	assert_name(mp_error_name(0x000006F7), "RPC_X_BAD_STUB_DATA");
	/* ...but an Exchange error of the same value comes first. */
	assert_name(mp_error_name(0x000006BA), "ecLockTimedOut");
	assert_null(mp_rpc_status_name(0x8004010F));
}

/* ------------------------------------------------------------------ */
/* The generated tables: sorted, unique, well-formed, complete enough.  */
/* ------------------------------------------------------------------ */

static void test_proptag_table_shape(void **state)
{
	/* MS-OXPROPS has ~640 tagged properties; with both string widths and
	 * the extra PR_ tags, a complete generation gives far more. */
	assert_true(mp_proptag_table_len >= 2000);
	assert_true(mp_propid_table_len >= 800);
	for (size_t i = 0; i < mp_proptag_table_len; i++) {
		const struct mp_proptag_entry *e = &mp_proptag_table[i];
		if (i)
			assert_true(mp_proptag_table[i - 1].tag < e->tag);
		assert_true(e->pidtag || e->pr);
		if (e->pidtag)
			assert_memory_equal(e->pidtag, "PidTag", 6);
		if (e->pr)
			assert_memory_equal(e->pr, "PR_", 3);
		uint16_t type = (uint16_t)e->tag;
		if (!mp_proptype_name(type))
			fail_msg("tag 0x%08x has an unknown type", e->tag);
		/* Every table entry is found by the look-ups. */
		assert_ptr_equal(mp_proptag_pr_name(e->tag), e->pr);
		if (e->pidtag)
			assert_ptr_equal(mp_proptag_name(e->tag), e->pidtag);
		/* Both string widths are listed, PR_ names paired. */
		if (type == 0x001F || type == 0x101F) {
			uint32_t narrow = e->tag - 1;
			const char *pr8 = mp_proptag_pr_name(narrow);
			assert_true(mp_proptag_name(narrow) != NULL || pr8 != NULL);
			if (e->pr && pr8 && strcmp(e->pr + strlen(e->pr) - 8, "_UNICODE") == 0) {
				assert_int_equal(strlen(e->pr), strlen(pr8) + 8);
				assert_memory_equal(e->pr, pr8, strlen(pr8));
			}
		}
	}
	for (size_t i = 0; i < mp_propid_table_len; i++) {
		if (i)
			assert_true(mp_propid_table[i - 1].id < mp_propid_table[i].id);
		assert_memory_equal(mp_propid_table[i].name, "PidTag", 6);
	}
}

static void test_error_tables_shape(void **state)
{
	assert_true(mp_error_table_len >= 600);
	for (size_t i = 0; i < mp_error_table_len; i++) {
		const struct mp_error_entry *e = &mp_error_table[i];
		if (i)
			assert_true(mp_error_table[i - 1].code < e->code);
		assert_true(e->spec || e->ec || e->mapi);
		if (e->ec)
			assert_memory_equal(e->ec, "ec", 2);
		assert_non_null(mp_error_name(e->code));
	}
	for (size_t i = 0; i < mp_rpc_status_table_len; i++) {
		if (i)
			assert_true(mp_rpc_status_table[i - 1].code < mp_rpc_status_table[i].code);
		assert_ptr_equal(mp_rpc_status_name(mp_rpc_status_table[i].code),
				 mp_rpc_status_table[i].name);
	}
}

/* Which values the printers must redact. */
static void test_secret_properties(void **state)
{
	(void)state;
	assert_true(mp_proptag_is_secret(0x6703001F, false));  /* PidTagPstPasswordSzOld */
	assert_true(mp_proptag_is_secret(0x6704001E, false));  /* PidTagPstPasswordSzNew, String8 */
	assert_true(mp_proptag_is_secret(0x67FC001F, false));  /* PidTagAutoConfigurationUserPassword */
	assert_false(mp_proptag_is_secret(0x6701000B, false)); /* PidTagPstRememberPassword: a Boolean */
	assert_false(mp_proptag_is_secret(0x0037001F, false)); /* PidTagSubject */
	/* Address-book passwords only where 0x8000+ means the address book. */
	assert_true(mp_proptag_is_secret(0x80550102, true));  /* PR_EMS_AB_AUTHORIZED_PASSWORD */
	assert_true(mp_proptag_is_secret(0x808C001F, true));  /* PR_EMS_AB_DXA_PASSWORD_UNICODE */
	assert_false(mp_proptag_is_secret(0x80550102, false)); /* a mailbox's named property */
	assert_false(mp_proptag_is_secret(0x8006001E, true));  /* PR_EMS_AB_HOME_MDB */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_spec_rop_is_named),
		cmocka_unit_test(test_call_names),
		cmocka_unit_test(test_proptag_names),
		cmocka_unit_test(test_proptype_names),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_nspi_return_values),
		cmocka_unit_test(test_rpc_status_names),
		cmocka_unit_test(test_secret_properties),
		cmocka_unit_test(test_proptag_table_shape),
		cmocka_unit_test(test_error_tables_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
