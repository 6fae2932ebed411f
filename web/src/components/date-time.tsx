// A date and time as the reader's locale writes it, in a <time> element that keeps the
// exact instant for machines. Shared by the account area and the public pages.
import type { ReactNode } from 'react';

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function DateTime(props: { readonly value: string }): ReactNode {
  return <time dateTime={props.value}>{DATE_TIME.format(new Date(props.value))}</time>;
}
