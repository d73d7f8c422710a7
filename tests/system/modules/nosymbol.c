/* Test module: a shared object without the mapiproxy_module descriptor. */
int nosymbol_answer(void);
int nosymbol_answer(void)
{
	return 42;
}
