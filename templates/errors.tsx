import { Heading } from "./components.tsx";

/** Error pages say what happened and what to do, and nothing about the inside of the portal. */
export function ErrorPage(props: { heading: string; message: string }) {
  return (
    <section>
      <Heading>{props.heading}</Heading>
      <p>{props.message}</p>
      <p>
        <a href="/login">Go to the sign-in page</a>
      </p>
    </section>
  );
}
