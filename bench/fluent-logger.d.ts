/** The little of fluent-logger's untyped API that the peer benchmark uses. */
declare module 'fluent-logger' {
  interface FluentSender {
    emit(label: string, record: object, time: unknown, callback: (error?: Error) => void): void;
    end(label: undefined, record: undefined, callback: () => void): void;
  }
  const fluentLogger: {
    createFluentSender(tag: string, options: Record<string, unknown>): FluentSender;
    EventTime: new (seconds: number, nanoseconds: number) => unknown;
  };
  export default fluentLogger;
}
